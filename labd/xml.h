/*
 * libvirt XML for labd: domain, dir pool and volume documents, built with libxml2's
 * xmlTextWriter so every user string is escaped by the library, and the reader that
 * tells labd's domains (our <metadata> element) from everybody else's.
 *
 * Builders return 0 and a malloc'd NUL-terminated document in *OUT (free() it), or
 * -EINVAL (a missing or unusable parameter, logged; strings must be valid UTF-8
 * without control characters, which XML 1.0 cannot carry) or -ENOMEM.
 */
#ifndef VLAB_XML_H
#define VLAB_XML_H

#include <stddef.h>

/* Our metadata namespace: <vlab:student id=... class=... index=.../> */
#define XML_VLAB_NS     "https://vlab.invalid/xmlns/1"
#define XML_VLAB_PREFIX "vlab"

struct xml_domain_params {
	const char *name;          /* domain name, e.g. "vlab-alice" (labd/names.h) */
	const char *uuid;          /* optional; NULL lets libvirt choose */
	const char *type;          /* "kvm" or "qemu" */
	const char *cpu_model;     /* "host-passthrough", or a model name (e.g. "qemu64") */
	unsigned vcpus;            /* >= 1 */
	unsigned memory_mib;       /* >= 1 */
	unsigned tb_cache_mib;     /* TCG translation cache; only with type "qemu"; 0 = default */
	const char *overlay_path;  /* qcow2 overlay -> vda (virtio) */
	const char *seed_path;     /* optional NoCloud seed ISO -> vdb, read-only virtio disk */
	const char *bridge;        /* lab bridge */
	const char *mac;           /* "52:54:00:00:00:11" */
	const char *tap;           /* host tap name, 1..15 chars, e.g. "vl17" */
	const char *console_log;   /* serial console log file */
	const char *kernel;        /* optional direct kernel boot; NULL = boot the disk */
	const char *initrd;        /* optional, only with kernel */
	const char *cmdline;       /* optional, only with kernel */
	/* ownership, in <metadata>; labd touches no domain without it */
	const char *student_id;
	const char *class_name;
	unsigned index;
	const char *description;   /* optional: the student's name, free text */
};

int xml_build_domain(const struct xml_domain_params *p, char **out);

/* <pool type='dir'> named NAME at directory DIR. */
int xml_build_pool(const char *name, const char *dir, char **out);

/*
 * A qcow2 overlay volume on BACKING_PATH (BACKING_FORMAT "qcow2" or "raw"), mode 0600.
 * CAPACITY_BYTES is the guest-visible size, normally the backing image's virtual size;
 * 0 omits <capacity>, which libvirt accepts for a volume with a backing store and
 * then runs qemu-img without a size, so the overlay takes the backing image's size.
 */
int xml_build_overlay_volume(const char *name, const char *backing_path,
			     const char *backing_format, unsigned long long capacity_bytes,
			     char **out);

/*
 * Reads our metadata back from a domain's XML (virDomainGetXMLDesc). 0 with the
 * student id, class and index copied out; -ENOENT when the domain carries no vlab
 * metadata (not ours: never touch it); -EINVAL when the XML does not parse or our
 * element is malformed; -ENAMETOOLONG when a buffer is too small. STUDENT, CLASS and
 * INDEX may each be NULL.
 */
int xml_domain_read_owner(const char *domain_xml, char *student, size_t student_len,
			  char *class_name, size_t class_len, unsigned *index);

#endif
