/*
 * The lab's configuration: one libconfig file (docs/config.md is the reference).
 * conf_load() fills a typed struct with copies of every string, validates every
 * value and reports the first problem as "FILE:LINE: what is wrong".
 */
#ifndef VLAB_CONF_H
#define VLAB_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/vlab/lab.conf"
/* The longest classes[].idle_sleep: 7 days (netd's activity set keeps that long). */
#define CONF_IDLE_SLEEP_MAX (7u * 86400u)
/* The default NFLOG group of netd's wake rule. */
#define CONF_LOG_GROUP_DEFAULT 7

struct conf_public {
	struct in_addr addr;     /* a public IPv4 address of the host */
	uint16_t port_lo;        /* first port of its range (inclusive) */
	uint16_t port_hi;        /* last port of its range (inclusive) */
};

struct conf_class {
	char *name;              /* [a-z0-9][a-z0-9_-]{0,31} */
	char *base_image;        /* absolute path, qcow2 or raw */
	char *user;              /* the guest account students log in as */
	unsigned vcpus;          /* default 1 */
	unsigned memory_mib;     /* default 1024 */
	char *kernel;            /* optional direct kernel boot; NULL = boot the disk */
	char *initrd;            /* optional, only with kernel */
	char *cmdline;           /* optional, only with kernel */
	unsigned idle_sleep_secs;/* a VM idle this long is put to sleep; 0 = never (default) */
};

struct lab_conf {
	char *path;              /* the file this was loaded from */
	char *state_dir;         /* default /var/lib/vlab */
	char *run_dir;           /* default /run/vlab */
	char *socket_group;      /* group allowed on the control sockets; NULL = root only */

	/* network { } */
	char *bridge;            /* default "labbr0" */
	struct in_addr subnet;   /* network address (network byte order, host bits zero) */
	unsigned prefix;         /* 8..30 */
	struct in_addr gateway;  /* first address of the subnet: the bridge's address */
	uint8_t mac_prefix[3];   /* locally administered unicast, default 52:54:00 */
	char *nft_table;         /* table name in family ip, default "vlab" */
	bool egress;             /* masquerade lab traffic to the outside, default true */
	bool dns;                /* dnsmasq also answers DNS on the bridge, default true */
	unsigned dhcp_lease_secs;/* 0 = infinite; default 12h */
	struct conf_public *publics;
	size_t n_publics;        /* >= 1 */

	/* netd { } */
	char *netd_socket;       /* default RUN_DIR/netd.sock */
	char *dnsmasq_path;      /* default /usr/sbin/dnsmasq */
	unsigned log_group;      /* NFLOG group for packets of sleeping VMs, default 7 */

	/* labd { } */
	char *labd_socket;       /* default RUN_DIR/labd.sock */
	char *database;          /* default STATE_DIR/lab.db */
	char *libvirt_uri;       /* default qemu:///system */
	char *pool_name;         /* libvirt dir pool, default "vlab" */
	char *pool_dir;          /* default STATE_DIR/pool */
	char *console_dir;       /* serial console logs, default STATE_DIR/console */
	char *domain_type;       /* "kvm" (default) or "qemu" */
	char *cpu_model;         /* default host-passthrough for kvm, qemu64 for qemu */
	unsigned tb_cache_mib;   /* TCG translation cache for domain_type qemu; 0 = qemu default */
	unsigned parallel;       /* bulk operations in flight, default 4 */
	unsigned stop_timeout;   /* seconds of graceful shutdown before forcing, default 60 */
	bool restart_crashed;    /* restart a VM that crashed, default true */
	unsigned max_running_mib;/* guest memory of running VMs, at most; 0 = no budget */

	struct conf_class *classes;
	size_t n_classes;        /* >= 1 */

	/* gate { } (the students' SSH gate, docs/vlab-gate.8); absent = no gate */
	bool gate;               /* the group is present */
	unsigned gate_port;      /* sshd's port on the public addresses, outside every range */
	char *gate_socket;       /* labd's socket for vlab-gate, default RUN_DIR/gate.sock */
	char *gate_group;        /* the group allowed on it, default "vlab-gate" */
};

/*
 * Loads and validates PATH into *CONF (zeroed first). Returns 0, or -EINVAL/-ENOENT/...
 * with a one-line message in ERR ("lab.conf:12: network.subnet: '10.0.0.0/33' is not
 * a CIDR prefix (expected A.B.C.D/N with N in 8..30)"). On error *CONF holds nothing.
 */
int conf_load(const char *path, struct lab_conf *conf, char *err, size_t errlen);
void conf_free(struct lab_conf *conf);

/* The class called NAME, or NULL. */
const struct conf_class *conf_class_find(const struct lab_conf *conf, const char *name);
/* The public entry that holds ADDR:PORT, or NULL. */
const struct conf_public *conf_public_find(const struct lab_conf *conf, struct in_addr addr,
					   uint16_t port);

#endif
