/* labd/xml.c: libvirt XML builders and the ownership reader, parsed back with libxml2. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "common/log.h"
#include "labd/xml.h"

extern char **environ;

/* The refusals below are logged by design; keep the test output readable. */
static int saved_level;

static void quiet_logs(void)
{
	saved_level = log_getlevel();
	log_setlevel(LOG_LVL_ERR);
}

static void restore_logs(void)
{
	log_setlevel(saved_level);
}

#define HOSTILE "<&'\">"

static struct xml_domain_params params_default(void)
{
	struct xml_domain_params p;

	memset(&p, 0, sizeof(p));
	p.name = "vlab-net101-alice";
	p.uuid = "9b1c2f8e-4f7a-4c3e-9d1b-2a6f0c5e7d11";
	p.type = "qemu";
	p.cpu_model = "qemu64";
	p.vcpus = 2;
	p.memory_mib = 256;
	p.tb_cache_mib = 32;
	p.overlay_path = "/var/lib/vlab/pool/vlab-net101-alice.qcow2";
	p.seed_path = "/var/lib/vlab/pool/vlab-net101-alice-seed.iso";
	p.bridge = "labbr0";
	p.mac = "52:54:00:00:00:11";
	p.tap = "vl17";
	p.console_log = "/var/lib/vlab/console/vlab-net101-alice.log";
	p.student_id = "alice";
	p.class_name = "net101";
	p.index = 17;
	p.description = "Alice Example";
	return p;
}

/* Parses strictly (no recovery): a document that is not well-formed fails the test. */
static xmlDocPtr parse_strict(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "test.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

	ck_assert_msg(doc != NULL, "not well-formed XML:\n%s", xml);
	return doc;
}

/* The string value of EXPR (namespace prefix "v" = ours); a static buffer per call. */
static const char *xp(xmlDocPtr doc, const char *expr)
{
	static char buf[4][1024];
	static int slot;
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr res;
	xmlChar *s;
	char *out = buf[slot++ % 4];

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(xmlXPathRegisterNs(ctx, BAD_CAST "v", BAD_CAST XML_VLAB_NS), 0);
	res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	ck_assert_msg(res != NULL, "bad xpath %s", expr);
	s = xmlXPathCastToString(res);
	snprintf(out, sizeof(buf[0]), "%s", (const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	return out;
}

static xmlDocPtr build_domain(const struct xml_domain_params *p)
{
	char *xml = NULL;
	xmlDocPtr doc;

	ck_assert_int_eq(xml_build_domain(p, &xml), 0);
	ck_assert_ptr_nonnull(xml);
	doc = parse_strict(xml);
	free(xml);
	return doc;
}

START_TEST(xml_domain_parses_back_with_every_element)
{
	struct xml_domain_params p = params_default();
	xmlDocPtr d = build_domain(&p);

	ck_assert_str_eq(xp(d, "name(/*)"), "domain");
	ck_assert_str_eq(xp(d, "/domain/@type"), "qemu");
	ck_assert_str_eq(xp(d, "/domain/name"), "vlab-net101-alice");
	ck_assert_str_eq(xp(d, "/domain/uuid"), "9b1c2f8e-4f7a-4c3e-9d1b-2a6f0c5e7d11");
	ck_assert_str_eq(xp(d, "/domain/description"), "Alice Example");
	ck_assert_str_eq(xp(d, "/domain/memory/@unit"), "MiB");
	ck_assert_str_eq(xp(d, "/domain/memory"), "256");
	ck_assert_str_eq(xp(d, "/domain/vcpu"), "2");
	ck_assert_str_eq(xp(d, "/domain/os/type"), "hvm");
	ck_assert_str_eq(xp(d, "/domain/os/type/@arch"), "x86_64");
	ck_assert_str_eq(xp(d, "/domain/os/type/@machine"), "pc");
	ck_assert_str_eq(xp(d, "count(/domain/features/acpi)"), "1");
	ck_assert_str_eq(xp(d, "/domain/on_poweroff"), "destroy");
	ck_assert_str_eq(xp(d, "/domain/on_reboot"), "restart");
	ck_assert_str_eq(xp(d, "/domain/on_crash"), "destroy");

	ck_assert_str_eq(xp(d, "count(/domain/devices/disk)"), "2");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/@type"), "file");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/driver/@name"), "qemu");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/driver/@type"), "qcow2");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/driver/@discard"), "unmap");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/source/@file"),
			 "/var/lib/vlab/pool/vlab-net101-alice.qcow2");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/target/@dev"), "vda");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vda']/target/@bus"), "virtio");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vdb']/driver/@type"), "raw");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vdb']/source/@file"),
			 "/var/lib/vlab/pool/vlab-net101-alice-seed.iso");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vdb']/target/@dev"), "vdb");
	ck_assert_str_eq(xp(d, "/domain/devices/disk[target/@dev='vdb']/target/@bus"), "virtio");
	ck_assert_str_eq(xp(d, "count(/domain/devices/disk[target/@dev='vdb']/readonly)"), "1");

	ck_assert_str_eq(xp(d, "/domain/devices/interface/@type"), "bridge");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/mac/@address"), "52:54:00:00:00:11");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/source/@bridge"), "labbr0");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/target/@dev"), "vl17");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/model/@type"), "virtio");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/port/@isolated"), "yes");

	ck_assert_str_eq(xp(d, "/domain/devices/serial/@type"), "pty");
	ck_assert_str_eq(xp(d, "/domain/devices/serial/log/@file"),
			 "/var/lib/vlab/console/vlab-net101-alice.log");
	ck_assert_str_eq(xp(d, "/domain/devices/serial/log/@append"), "on");
	ck_assert_str_eq(xp(d, "/domain/devices/serial/target/@port"), "0");
	ck_assert_str_eq(xp(d, "/domain/devices/console/@type"), "pty");
	ck_assert_str_eq(xp(d, "/domain/devices/memballoon/@model"), "none");

	ck_assert_str_eq(xp(d, "/domain/metadata/v:student/@id"), "alice");
	ck_assert_str_eq(xp(d, "/domain/metadata/v:student/@class"), "net101");
	ck_assert_str_eq(xp(d, "/domain/metadata/v:student/@index"), "17");
	xmlFreeDoc(d);
}
END_TEST

START_TEST(xml_domain_escapes_hostile_strings)
{
	struct xml_domain_params p = params_default();
	char *xml = NULL, sid[64], cls[64];
	unsigned idx = 0;
	xmlDocPtr d;

	p.description = "Mallory " HOSTILE "</description><evil/>";
	p.student_id = HOSTILE;
	p.class_name = "c" HOSTILE;
	p.cmdline = "console=ttyS0 x=" HOSTILE;
	p.kernel = "/boot/vmlinuz";
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	ck_assert_ptr_null(strstr(xml, HOSTILE));
	ck_assert_ptr_null(strstr(xml, "<evil/>"));
	d = parse_strict(xml);
	ck_assert_str_eq(xp(d, "/domain/description"), "Mallory " HOSTILE "</description><evil/>");
	ck_assert_str_eq(xp(d, "count(//evil)"), "0");
	ck_assert_str_eq(xp(d, "/domain/os/cmdline"), "console=ttyS0 x=" HOSTILE);
	ck_assert_int_eq(xml_domain_read_owner(xml, sid, sizeof(sid), cls, sizeof(cls), &idx), 0);
	ck_assert_str_eq(sid, HOSTILE);
	ck_assert_str_eq(cls, "c" HOSTILE);
	ck_assert_uint_eq(idx, 17);
	xmlFreeDoc(d);
	free(xml);
}
END_TEST

START_TEST(xml_domain_keeps_utf8_and_refuses_what_xml_cannot_carry)
{
	struct xml_domain_params p = params_default();
	char *xml = NULL;
	xmlDocPtr d;

	p.description = "Zo\xc3\xab M\xc3\xbcller \xe6\x9d\x8e";
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	d = parse_strict(xml);
	ck_assert_str_eq(xp(d, "/domain/description"), "Zo\xc3\xab M\xc3\xbcller \xe6\x9d\x8e");
	xmlFreeDoc(d);
	free(xml);

	p.description = "bell\x07";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	ck_assert_ptr_null(xml);
	p.description = "line\nbreak";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.description = "bad \xff utf8";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.description = "noncharacter \xef\xbf\xbe";   /* U+FFFE */
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.description = NULL;
	p.student_id = "a\x01";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
}
END_TEST

START_TEST(xml_domain_tb_cache_only_for_qemu)
{
	struct xml_domain_params p = params_default();
	xmlDocPtr d;

	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/@type"), "qemu");
	ck_assert_str_eq(xp(d, "/domain/features/tcg/tb-cache"), "32");
	ck_assert_str_eq(xp(d, "/domain/features/tcg/tb-cache/@unit"), "MiB");
	xmlFreeDoc(d);

	p.type = "kvm";
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/@type"), "kvm");
	ck_assert_str_eq(xp(d, "count(/domain/features/tcg)"), "0");
	ck_assert_str_eq(xp(d, "count(/domain/features/acpi)"), "1");
	xmlFreeDoc(d);

	p.type = "qemu";
	p.tb_cache_mib = 0;
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "count(/domain/features/tcg)"), "0");
	xmlFreeDoc(d);

	p.type = "xen";
	{
		char *xml = NULL;

		ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	}
}
END_TEST

START_TEST(xml_domain_cpu_host_passthrough_vs_custom)
{
	struct xml_domain_params p = params_default();
	xmlDocPtr d;

	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/cpu/@mode"), "custom");
	ck_assert_str_eq(xp(d, "/domain/cpu/@match"), "exact");
	ck_assert_str_eq(xp(d, "/domain/cpu/model"), "qemu64");
	ck_assert_str_eq(xp(d, "/domain/cpu/model/@fallback"), "forbid");
	xmlFreeDoc(d);

	p.cpu_model = "host-passthrough";
	p.type = "kvm";
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/cpu/@mode"), "host-passthrough");
	ck_assert_str_eq(xp(d, "count(/domain/cpu/@match)"), "0");
	ck_assert_str_eq(xp(d, "count(/domain/cpu/*)"), "0");
	xmlFreeDoc(d);
}
END_TEST

START_TEST(xml_domain_direct_kernel_boot_vs_disk_boot)
{
	struct xml_domain_params p = params_default();
	char *xml = NULL;
	xmlDocPtr d;

	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/os/boot/@dev"), "hd");
	ck_assert_str_eq(xp(d, "count(/domain/os/kernel)"), "0");
	xmlFreeDoc(d);

	p.kernel = "/srv/vlab/vmlinuz";
	p.initrd = "/srv/vlab/initrd.img";
	p.cmdline = "console=ttyS0 root=/dev/vda rw";
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "count(/domain/os/boot)"), "0");
	ck_assert_str_eq(xp(d, "/domain/os/kernel"), "/srv/vlab/vmlinuz");
	ck_assert_str_eq(xp(d, "/domain/os/initrd"), "/srv/vlab/initrd.img");
	ck_assert_str_eq(xp(d, "/domain/os/cmdline"), "console=ttyS0 root=/dev/vda rw");
	ck_assert_str_eq(xp(d, "/domain/os/type"), "hvm");
	xmlFreeDoc(d);

	p.kernel = NULL;   /* initrd/cmdline without a kernel means a caller bug */
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.kernel = "relative/vmlinuz";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
}
END_TEST

START_TEST(xml_domain_without_seed_or_uuid_or_description)
{
	struct xml_domain_params p = params_default();
	xmlDocPtr d;

	p.seed_path = NULL;
	p.uuid = NULL;
	p.description = NULL;
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "count(/domain/devices/disk)"), "1");
	ck_assert_str_eq(xp(d, "count(/domain/uuid)"), "0");
	ck_assert_str_eq(xp(d, "count(/domain/description)"), "0");
	xmlFreeDoc(d);
}
END_TEST

START_TEST(xml_domain_refuses_bad_tap_and_mac)
{
	struct xml_domain_params p = params_default();
	char *xml = NULL;
	xmlDocPtr d;

	p.tap = "vl1234567890123";   /* 15: the longest a kernel interface name can be */
	d = build_domain(&p);
	ck_assert_str_eq(xp(d, "/domain/devices/interface/target/@dev"), "vl1234567890123");
	xmlFreeDoc(d);
	p.tap = "vl12345678901234";  /* 16 */
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.tap = "vl 1";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.tap = "vl17";
	p.mac = "52:54:00:00:00";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.mac = "52:54:00:00:00:11";
	p.name = "a/b";
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	p.name = "vlab-x";
	p.index = 0;
	ck_assert_int_eq(xml_build_domain(&p, &xml), -EINVAL);
	ck_assert_ptr_null(xml);
}
END_TEST

/* ------------------------------------------------------------------- owner */

START_TEST(xml_owner_round_trips_metadata)
{
	struct xml_domain_params p = params_default();
	char *xml = NULL, sid[33], cls[33];
	unsigned idx = 0;

	p.index = 65535;
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	ck_assert_int_eq(xml_domain_read_owner(xml, sid, sizeof(sid), cls, sizeof(cls), &idx), 0);
	ck_assert_str_eq(sid, "alice");
	ck_assert_str_eq(cls, "net101");
	ck_assert_uint_eq(idx, 65535);
	/* Only asking whether it is ours. */
	ck_assert_int_eq(xml_domain_read_owner(xml, NULL, 0, NULL, 0, NULL), 0);
	/* A buffer that cannot hold the id. */
	ck_assert_int_eq(xml_domain_read_owner(xml, sid, 5, cls, sizeof(cls), &idx), -ENAMETOOLONG);
	free(xml);
}
END_TEST

START_TEST(xml_owner_reads_libvirt_rewritten_metadata)
{
	/* libvirt re-serialises metadata with its own formatting; the prefix may differ.
	 * The namespace URI is what makes it ours. */
	static const char *xml =
		"<domain type='qemu' id='3'>\n"
		"  <name>vlab-net101-bob</name>\n"
		"  <metadata>\n"
		"    <ns0:student xmlns:ns0=\"" XML_VLAB_NS "\" id=\"bob\" class=\"net101\" index=\"4\"/>\n"
		"  </metadata>\n"
		"  <memory unit='KiB'>262144</memory>\n"
		"</domain>\n";
	char sid[33], cls[33];
	unsigned idx = 0;

	ck_assert_int_eq(xml_domain_read_owner(xml, sid, sizeof(sid), cls, sizeof(cls), &idx), 0);
	ck_assert_str_eq(sid, "bob");
	ck_assert_uint_eq(idx, 4);
}
END_TEST

START_TEST(xml_owner_foreign_domain_is_enoent)
{
	static const char *plain =
		"<domain type='kvm'><name>webserver</name><memory>1048576</memory>"
		"<os><type>hvm</type></os></domain>";
	/* Someone else's metadata, even with our element name and prefix. */
	static const char *other =
		"<domain type='kvm'><name>desktop</name><metadata>"
		"<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
		"<libosinfo:os id='http://debian.org/debian/12'/></libosinfo:libosinfo>"
		"<vlab:student xmlns:vlab='https://example.org/not-vlab' id='x' class='y' index='1'/>"
		"</metadata></domain>";
	/* Our element, but not where libvirt keeps metadata. */
	static const char *misplaced =
		"<domain type='kvm'><name>d</name><description>"
		"</description><devices><vlab:student xmlns:vlab='" XML_VLAB_NS "' id='x' class='y' "
		"index='1'/></devices></domain>";
	char sid[33] = "untouched", cls[33];
	unsigned idx = 99;

	ck_assert_int_eq(xml_domain_read_owner(plain, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -ENOENT);
	ck_assert_int_eq(xml_domain_read_owner(other, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -ENOENT);
	ck_assert_int_eq(xml_domain_read_owner(misplaced, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -ENOENT);
	ck_assert_str_eq(sid, "untouched");
	ck_assert_uint_eq(idx, 99);
}
END_TEST

START_TEST(xml_owner_refuses_garbage_and_malformed_metadata)
{
	static const char *bad_index =
		"<domain><metadata><v:student xmlns:v='" XML_VLAB_NS "' id='a' class='c' "
		"index='12x'/></metadata></domain>";
	static const char *zero_index =
		"<domain><metadata><v:student xmlns:v='" XML_VLAB_NS "' id='a' class='c' "
		"index='0'/></metadata></domain>";
	static const char *no_id =
		"<domain><metadata><v:student xmlns:v='" XML_VLAB_NS "' class='c' "
		"index='3'/></metadata></domain>";
	static const char *entity =
		"<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
		"<domain><metadata><v:student xmlns:v='" XML_VLAB_NS "' id='&x;' class='c' "
		"index='3'/></metadata></domain>";
	char sid[64] = "", cls[33];
	unsigned idx;

	ck_assert_int_eq(xml_domain_read_owner("<domain><name>x", sid, sizeof(sid), cls,
					       sizeof(cls), &idx), -EINVAL);
	ck_assert_int_eq(xml_domain_read_owner("", sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	ck_assert_int_eq(xml_domain_read_owner(NULL, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	ck_assert_int_eq(xml_domain_read_owner(bad_index, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	ck_assert_int_eq(xml_domain_read_owner(zero_index, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	ck_assert_int_eq(xml_domain_read_owner(no_id, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	/* External entities are never loaded: the id stays empty, so it is refused. */
	ck_assert_int_eq(xml_domain_read_owner(entity, sid, sizeof(sid), cls, sizeof(cls), &idx),
			 -EINVAL);
	ck_assert_ptr_null(strstr(sid, "root:"));
}
END_TEST

/* ---------------------------------------------------------- pool, volumes */

START_TEST(xml_pool_parses_back)
{
	char *xml = NULL;
	xmlDocPtr d;

	ck_assert_int_eq(xml_build_pool("vlab", "/var/lib/vlab/pool", &xml), 0);
	d = parse_strict(xml);
	ck_assert_str_eq(xp(d, "/pool/@type"), "dir");
	ck_assert_str_eq(xp(d, "/pool/name"), "vlab");
	ck_assert_str_eq(xp(d, "/pool/target/path"), "/var/lib/vlab/pool");
	xmlFreeDoc(d);
	free(xml);
	ck_assert_int_eq(xml_build_pool("vlab", "relative", &xml), -EINVAL);
	ck_assert_int_eq(xml_build_pool("", "/x", &xml), -EINVAL);
}
END_TEST

START_TEST(xml_overlay_volume_parses_back)
{
	char *xml = NULL;
	xmlDocPtr d;

	ck_assert_int_eq(xml_build_overlay_volume("vlab-net101-alice.qcow2",
						  "/srv/vlab/base " HOSTILE ".qcow2", "qcow2",
						  2147483648ULL, &xml), 0);
	d = parse_strict(xml);
	ck_assert_str_eq(xp(d, "/volume/name"), "vlab-net101-alice.qcow2");
	ck_assert_str_eq(xp(d, "/volume/capacity"), "2147483648");
	ck_assert_str_eq(xp(d, "/volume/capacity/@unit"), "bytes");
	ck_assert_str_eq(xp(d, "/volume/target/format/@type"), "qcow2");
	ck_assert_str_eq(xp(d, "/volume/target/permissions/mode"), "0600");
	ck_assert_str_eq(xp(d, "/volume/backingStore/path"), "/srv/vlab/base " HOSTILE ".qcow2");
	ck_assert_str_eq(xp(d, "/volume/backingStore/format/@type"), "qcow2");
	xmlFreeDoc(d);
	free(xml);

	ck_assert_int_eq(xml_build_overlay_volume("o.qcow2", "/srv/base.img", "raw", 0, &xml), 0);
	d = parse_strict(xml);
	ck_assert_str_eq(xp(d, "count(/volume/capacity)"), "0");
	ck_assert_str_eq(xp(d, "/volume/backingStore/format/@type"), "raw");
	ck_assert_str_eq(xp(d, "/volume/target/format/@type"), "qcow2");
	xmlFreeDoc(d);
	free(xml);

	ck_assert_int_eq(xml_build_overlay_volume("o.qcow2", "/srv/base.img", "vmdk", 0, &xml),
			 -EINVAL);
	ck_assert_int_eq(xml_build_overlay_volume("a/b", "/srv/base.img", "raw", 0, &xml), -EINVAL);
}
END_TEST

/* ------------------------------------------------ libvirt's own parser */

static void ignore_virt_error(void *opaque, virErrorPtr err)
{
}

/*
 * libvirt's in-process test driver (test:///default: no daemon, no hypervisor) runs
 * the same XML parsers as libvirtd, and hands the domain back in libvirt's own
 * formatting, which is what labd's reconcile will read.
 */
START_TEST(xml_documents_load_in_libvirt_test_driver)
{
	struct xml_domain_params p = params_default();
	virConnectPtr conn;
	virDomainPtr dom;
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	char *xml = NULL, *back, sid[64], cls[64];
	unsigned idx = 0;
	xmlDocPtr d;

	virSetErrorFunc(NULL, ignore_virt_error);
	conn = virConnectOpen("test:///default");
	ck_assert_msg(conn != NULL, "test driver: %s", virGetLastErrorMessage());

	p.description = "Mallory " HOSTILE;
	p.student_id = "mallory";
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	dom = virDomainDefineXML(conn, xml);
	ck_assert_msg(dom != NULL, "define: %s\n%s", virGetLastErrorMessage(), xml);
	free(xml);
	back = virDomainGetXMLDesc(dom, 0);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(xml_domain_read_owner(back, sid, sizeof(sid), cls, sizeof(cls), &idx), 0);
	ck_assert_str_eq(sid, "mallory");
	ck_assert_str_eq(cls, "net101");
	ck_assert_uint_eq(idx, 17);
	d = parse_strict(back);
	ck_assert_str_eq(xp(d, "/domain/description"), "Mallory " HOSTILE);
	ck_assert_str_eq(xp(d, "/domain/devices/interface/port/@isolated"), "yes");
	ck_assert_str_eq(xp(d, "/domain/devices/interface/target/@dev"), "vl17");
	ck_assert_str_eq(xp(d, "/domain/features/tcg/tb-cache"), "32768");   /* KiB now */
	xmlFreeDoc(d);
	free(back);
	virDomainFree(dom);

	p.name = "vlab-net101-kernel";
	p.uuid = NULL;
	p.kernel = "/srv/vlab/vmlinuz";
	p.initrd = "/srv/vlab/initrd.img";
	p.cmdline = "console=ttyS0";
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	dom = virDomainDefineXML(conn, xml);
	ck_assert_msg(dom != NULL, "define: %s\n%s", virGetLastErrorMessage(), xml);
	free(xml);
	virDomainFree(dom);

	ck_assert_int_eq(xml_build_pool("vlab", "/var/lib/vlab/pool", &xml), 0);
	pool = virStoragePoolDefineXML(conn, xml, 0);
	ck_assert_msg(pool != NULL, "pool: %s\n%s", virGetLastErrorMessage(), xml);
	free(xml);
	virStoragePoolFree(pool);

	pool = virStoragePoolLookupByName(conn, "default-pool");
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(xml_build_overlay_volume("o.qcow2", "/srv/base.qcow2", "qcow2",
						  1ULL << 30, &xml), 0);
	vol = virStorageVolCreateXML(pool, xml, 0);
	ck_assert_msg(vol != NULL, "overlay: %s\n%s", virGetLastErrorMessage(), xml);
	free(xml);
	virStorageVolFree(vol);
	virStoragePoolFree(pool);
	virConnectClose(conn);
}
END_TEST

/* ------------------------------------------------------ libvirt's schemas */

static const char *find_validator(void)
{
	static const char *const paths[] = { "/usr/bin/virt-xml-validate",
					     "/usr/local/bin/virt-xml-validate" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/*
 * Runs virt-xml-validate on XML as SCHEMA (no shell); its exit status. Its output
 * (errors included) goes to OUTPUT for the failure message.
 */
static int validate(const char *tool, const char *dir, const char *xml, const char *schema,
		    char *output, size_t outlen)
{
	char path[4096], logpath[4096];
	char *argv[] = { (char *)tool, path, (char *)schema, NULL };
	posix_spawn_file_actions_t fa;
	FILE *f;
	size_t n;
	pid_t pid;
	int st;

	snprintf(path, sizeof(path), "%s/%s.xml", dir, schema);
	snprintf(logpath, sizeof(logpath), "%s/validate.log", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(xml, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	ck_assert_int_eq(posix_spawn_file_actions_addopen(&fa, 1, logpath,
							  O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
	ck_assert_int_eq(posix_spawn(&pid, tool, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);

	f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(output, 1, outlen - 1, f);
	output[n] = '\0';
	fclose(f);
	unlink(logpath);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(xml_documents_validate_against_libvirt_schemas)
{
	const char *tool = find_validator();
	struct xml_domain_params p = params_default();
	char dir[] = "/tmp/check_xml.XXXXXX";
	char *xml = NULL, out[8192];

	if (!tool) {
		fprintf(stderr, "check_xml: SKIPPED xml_documents_validate_against_libvirt_schemas: "
			"virt-xml-validate not found (install libvirt-clients)\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));

	p.description = "Mallory " HOSTILE;
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	ck_assert_msg(validate(tool, dir, xml, "domain", out, sizeof(out)) == 0,
		      "domain (disk boot):\n%s\n%s", xml, out);
	free(xml);

	p.kernel = "/srv/vlab/vmlinuz";
	p.initrd = "/srv/vlab/initrd.img";
	p.cmdline = "console=ttyS0";
	p.type = "kvm";
	p.cpu_model = "host-passthrough";
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	ck_assert_msg(validate(tool, dir, xml, "domain", out, sizeof(out)) == 0,
		      "domain (kernel boot):\n%s\n%s", xml, out);
	free(xml);

	ck_assert_int_eq(xml_build_pool("vlab", "/var/lib/vlab/pool", &xml), 0);
	ck_assert_msg(validate(tool, dir, xml, "storagepool", out, sizeof(out)) == 0,
		      "pool:\n%s\n%s", xml, out);
	free(xml);

	ck_assert_int_eq(xml_build_overlay_volume("o.qcow2", "/srv/base.qcow2", "qcow2",
						  1ULL << 30, &xml), 0);
	ck_assert_msg(validate(tool, dir, xml, "storagevol", out, sizeof(out)) == 0,
		      "overlay:\n%s\n%s", xml, out);
	free(xml);
	ck_assert_int_eq(xml_build_overlay_volume("o.qcow2", "/srv/base.qcow2", "qcow2", 0, &xml), 0);
	ck_assert_msg(validate(tool, dir, xml, "storagevol", out, sizeof(out)) == 0,
		      "overlay, no capacity:\n%s\n%s", xml, out);
	free(xml);

	/* The validator can fail: a domain without <name> is refused. */
	ck_assert_int_ne(validate(tool, dir, "<domain type='kvm'><memory>1</memory></domain>",
				  "domain", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "fails to validate"), "%s", out);
	rmdir(dir);
}
END_TEST

Suite *make_xml_suite(void);
Suite *make_xml_suite(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("domain");

	tcase_add_checked_fixture(tc, quiet_logs, restore_logs);
	tcase_add_test(tc, xml_domain_parses_back_with_every_element);
	tcase_add_test(tc, xml_domain_escapes_hostile_strings);
	tcase_add_test(tc, xml_domain_keeps_utf8_and_refuses_what_xml_cannot_carry);
	tcase_add_test(tc, xml_domain_tb_cache_only_for_qemu);
	tcase_add_test(tc, xml_domain_cpu_host_passthrough_vs_custom);
	tcase_add_test(tc, xml_domain_direct_kernel_boot_vs_disk_boot);
	tcase_add_test(tc, xml_domain_without_seed_or_uuid_or_description);
	tcase_add_test(tc, xml_domain_refuses_bad_tap_and_mac);
	suite_add_tcase(s, tc);

	tc = tcase_create("owner");
	tcase_add_test(tc, xml_owner_round_trips_metadata);
	tcase_add_test(tc, xml_owner_reads_libvirt_rewritten_metadata);
	tcase_add_test(tc, xml_owner_foreign_domain_is_enoent);
	tcase_add_test(tc, xml_owner_refuses_garbage_and_malformed_metadata);
	suite_add_tcase(s, tc);

	tc = tcase_create("storage");
	tcase_add_checked_fixture(tc, quiet_logs, restore_logs);
	tcase_add_test(tc, xml_pool_parses_back);
	tcase_add_test(tc, xml_overlay_volume_parses_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("libvirt");
	tcase_add_test(tc, xml_documents_load_in_libvirt_test_driver);
	tcase_add_test(tc, xml_documents_validate_against_libvirt_schemas);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
