/*
 * libvirt XML documents through xmlTextWriter: the library escapes every string we
 * write (text and attributes), so a student's name can never change the structure.
 * What the library does not do is refuse characters XML 1.0 cannot carry (control
 * characters, invalid UTF-8); xml_text_ok() refuses those first, or libvirt would get
 * a document it cannot parse.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/chvalid.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <libxml/xmlwriter.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "common/addr.h"
#include "common/log.h"
#include "labd/xml.h"

#define X(s) BAD_CAST(s)

/* Every writer call returns < 0 on failure (only allocation failure, once inputs are
 * checked), so one jump covers them all. */
#define W(call)                         \
	do {                            \
		if ((call) < 0)         \
			goto out;       \
	} while (0)

/* Non-empty, valid UTF-8, only characters XML 1.0 allows, and no control characters. */
static bool xml_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s || !*s || !xmlCheckUTF8(p))
		return false;
	while (*p) {
		int len = 4;
		int c = xmlGetUTF8Char(p, &len);

		if (c < 0x20 || !xmlIsCharQ(c))
			return false;
		p += len;
	}
	return true;
}

static bool xml_path_ok(const char *s)
{
	return xml_text_ok(s) && s[0] == '/';
}

/* libvirt refuses '/' in domain and volume names (they become file names). */
static bool xml_name_ok(const char *s)
{
	return xml_text_ok(s) && !strchr(s, '/');
}

/* A tap name the kernel accepts: 1..15 characters (IFNAMSIZ - 1), no '/', ':', space. */
static bool xml_ifname_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static int xml_bad(const char *what, const char *field)
{
	log_warnx("%s: %s is missing or unusable", what, field);
	return -EINVAL;
}

/* A writer on a memory buffer, indented for people reading virsh dumpxml diffs. */
static int xml_writer_open(xmlBufferPtr *buf, xmlTextWriterPtr *w)
{
	*w = NULL;
	*buf = xmlBufferCreate();
	if (!*buf)
		return -ENOMEM;
	*w = xmlNewTextWriterMemory(*buf, 0);
	if (!*w)
		return -ENOMEM;
	if (xmlTextWriterSetIndent(*w, 1) < 0 || xmlTextWriterSetIndentString(*w, X("  ")) < 0 ||
	    xmlTextWriterStartDocument(*w, NULL, NULL, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* Ends the document, frees the writer (which flushes) and copies the text out. */
static int xml_writer_finish(xmlBufferPtr buf, xmlTextWriterPtr w, char **out)
{
	int r = xmlTextWriterEndDocument(w);

	xmlFreeTextWriter(w);
	if (r < 0)
		return -ENOMEM;
	*out = strdup((const char *)xmlBufferContent(buf));
	return *out ? 0 : -ENOMEM;
}

static int xml_elem_text(xmlTextWriterPtr w, const char *name, const char *text)
{
	return xmlTextWriterWriteElement(w, X(name), X(text));
}

/* <NAME ATTR='VALUE'/> */
static int xml_elem_attr(xmlTextWriterPtr w, const char *name, const char *attr,
			 const char *value)
{
	if (xmlTextWriterStartElement(w, X(name)) < 0 ||
	    xmlTextWriterWriteAttribute(w, X(attr), X(value)) < 0)
		return -1;
	return xmlTextWriterEndElement(w);
}

/* ------------------------------------------------------------------- domain */

static int xml_check_domain(const struct xml_domain_params *p)
{
	const char *what = p->name ? p->name : "domain";

	if (!xml_name_ok(p->name))
		return xml_bad(what, "name");
	if (p->uuid && !xml_text_ok(p->uuid))
		return xml_bad(what, "uuid");
	if (!p->type || (strcmp(p->type, "kvm") && strcmp(p->type, "qemu")))
		return xml_bad(what, "type (kvm or qemu)");
	if (!xml_text_ok(p->cpu_model))
		return xml_bad(what, "cpu_model");
	if (p->vcpus < 1)
		return xml_bad(what, "vcpus");
	if (p->memory_mib < 1)
		return xml_bad(what, "memory_mib");
	if (!xml_path_ok(p->overlay_path))
		return xml_bad(what, "overlay_path");
	if (p->seed_path && !xml_path_ok(p->seed_path))
		return xml_bad(what, "seed_path");
	if (!xml_ifname_ok(p->bridge))
		return xml_bad(what, "bridge");
	{
		uint8_t mac[6];

		if (!p->mac || addr_parse_mac(p->mac, mac) < 0)
			return xml_bad(what, "mac");
	}
	if (!xml_ifname_ok(p->tap))
		return xml_bad(what, "tap (1..15 of [A-Za-z0-9_.-])");
	if (!xml_path_ok(p->console_log))
		return xml_bad(what, "console_log");
	if (p->kernel && !xml_path_ok(p->kernel))
		return xml_bad(what, "kernel");
	if (p->initrd && (!p->kernel || !xml_path_ok(p->initrd)))
		return xml_bad(what, "initrd (needs kernel)");
	if (p->cmdline && (!p->kernel || !xml_text_ok(p->cmdline)))
		return xml_bad(what, "cmdline (needs kernel)");
	if (!xml_text_ok(p->student_id))
		return xml_bad(what, "student_id");
	if (!xml_text_ok(p->class_name))
		return xml_bad(what, "class_name");
	if (p->index < 1)
		return xml_bad(what, "index");
	if (p->description && !xml_text_ok(p->description))
		return xml_bad(what, "description");
	return 0;
}

static int xml_write_devices(xmlTextWriterPtr w, const struct xml_domain_params *p)
{
	W(xmlTextWriterStartElement(w, X("devices")));

	W(xmlTextWriterStartElement(w, X("disk")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("file")));
	W(xmlTextWriterWriteAttribute(w, X("device"), X("disk")));
	W(xmlTextWriterStartElement(w, X("driver")));
	W(xmlTextWriterWriteAttribute(w, X("name"), X("qemu")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("qcow2")));
	W(xmlTextWriterWriteAttribute(w, X("discard"), X("unmap")));
	W(xmlTextWriterEndElement(w));
	W(xml_elem_attr(w, "source", "file", p->overlay_path));
	W(xmlTextWriterStartElement(w, X("target")));
	W(xmlTextWriterWriteAttribute(w, X("dev"), X("vda")));
	W(xmlTextWriterWriteAttribute(w, X("bus"), X("virtio")));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));   /* disk */

	if (p->seed_path) {
		W(xmlTextWriterStartElement(w, X("disk")));
		W(xmlTextWriterWriteAttribute(w, X("type"), X("file")));
		/* A read-only virtio disk, not a CD-ROM: Debian's cloud kernel (genericcloud
		 * images) has no AHCI driver, and cloud-init finds the "cidata" label on any
		 * block device. */
		W(xmlTextWriterWriteAttribute(w, X("device"), X("disk")));
		W(xmlTextWriterStartElement(w, X("driver")));
		W(xmlTextWriterWriteAttribute(w, X("name"), X("qemu")));
		W(xmlTextWriterWriteAttribute(w, X("type"), X("raw")));
		W(xmlTextWriterEndElement(w));
		W(xml_elem_attr(w, "source", "file", p->seed_path));
		W(xmlTextWriterStartElement(w, X("target")));
		W(xmlTextWriterWriteAttribute(w, X("dev"), X("vdb")));
		W(xmlTextWriterWriteAttribute(w, X("bus"), X("virtio")));
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterStartElement(w, X("readonly")));
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterEndElement(w));   /* disk */
	}

	W(xmlTextWriterStartElement(w, X("interface")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("bridge")));
	W(xml_elem_attr(w, "mac", "address", p->mac));
	W(xml_elem_attr(w, "source", "bridge", p->bridge));
	W(xml_elem_attr(w, "target", "dev", p->tap));
	W(xml_elem_attr(w, "model", "type", "virtio"));
	/* Isolated ports on one bridge cannot talk to each other: students stay apart
	 * even before netd's forward chain says so. */
	W(xml_elem_attr(w, "port", "isolated", "yes"));
	W(xmlTextWriterEndElement(w));   /* interface */

	W(xmlTextWriterStartElement(w, X("serial")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("pty")));
	W(xmlTextWriterStartElement(w, X("log")));
	W(xmlTextWriterWriteAttribute(w, X("file"), X(p->console_log)));
	W(xmlTextWriterWriteAttribute(w, X("append"), X("on")));
	W(xmlTextWriterEndElement(w));
	W(xml_elem_attr(w, "target", "port", "0"));
	W(xmlTextWriterEndElement(w));   /* serial */
	W(xmlTextWriterStartElement(w, X("console")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("pty")));
	W(xmlTextWriterStartElement(w, X("target")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("serial")));
	W(xmlTextWriterWriteAttribute(w, X("port"), X("0")));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));   /* console */

	/* No balloon: nobody inflates it, and it is one more device for a tiny guest. */
	W(xml_elem_attr(w, "memballoon", "model", "none"));

	W(xmlTextWriterEndElement(w));   /* devices */
	return 0;
out:
	return -1;
}

static int xml_write_domain(xmlTextWriterPtr w, const struct xml_domain_params *p)
{
	bool tcg = !strcmp(p->type, "qemu");

	W(xmlTextWriterStartElement(w, X("domain")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X(p->type)));
	W(xml_elem_text(w, "name", p->name));
	if (p->uuid)
		W(xml_elem_text(w, "uuid", p->uuid));
	if (p->description)
		W(xml_elem_text(w, "description", p->description));

	/* labd recognises its domains by this element and touches no other domain. */
	W(xmlTextWriterStartElement(w, X("metadata")));
	W(xmlTextWriterStartElementNS(w, X(XML_VLAB_PREFIX), X("student"), X(XML_VLAB_NS)));
	W(xmlTextWriterWriteAttribute(w, X("id"), X(p->student_id)));
	W(xmlTextWriterWriteAttribute(w, X("class"), X(p->class_name)));
	W(xmlTextWriterWriteFormatAttribute(w, X("index"), "%u", p->index));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));   /* metadata */

	W(xmlTextWriterStartElement(w, X("memory")));
	W(xmlTextWriterWriteAttribute(w, X("unit"), X("MiB")));
	W(xmlTextWriterWriteFormatString(w, "%u", p->memory_mib));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterWriteFormatElement(w, X("vcpu"), "%u", p->vcpus));

	W(xmlTextWriterStartElement(w, X("os")));
	W(xmlTextWriterStartElement(w, X("type")));
	W(xmlTextWriterWriteAttribute(w, X("arch"), X("x86_64")));
	W(xmlTextWriterWriteAttribute(w, X("machine"), X("pc")));
	W(xmlTextWriterWriteString(w, X("hvm")));
	W(xmlTextWriterEndElement(w));
	if (p->kernel) {
		W(xml_elem_text(w, "kernel", p->kernel));
		if (p->initrd)
			W(xml_elem_text(w, "initrd", p->initrd));
		if (p->cmdline)
			W(xml_elem_text(w, "cmdline", p->cmdline));
	} else {
		W(xml_elem_attr(w, "boot", "dev", "hd"));
	}
	W(xmlTextWriterEndElement(w));   /* os */

	W(xmlTextWriterStartElement(w, X("features")));
	W(xmlTextWriterStartElement(w, X("acpi")));
	W(xmlTextWriterEndElement(w));
	if (tcg && p->tb_cache_mib > 0) {
		/* Without a cap TCG sizes its translation cache for big guests: ~250 MiB
		 * RSS per tiny guest instead of ~207 MiB with 32 MiB. */
		W(xmlTextWriterStartElement(w, X("tcg")));
		W(xmlTextWriterStartElement(w, X("tb-cache")));
		W(xmlTextWriterWriteAttribute(w, X("unit"), X("MiB")));
		W(xmlTextWriterWriteFormatString(w, "%u", p->tb_cache_mib));
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterEndElement(w));   /* features */

	W(xmlTextWriterStartElement(w, X("cpu")));
	if (!strcmp(p->cpu_model, "host-passthrough")) {
		W(xmlTextWriterWriteAttribute(w, X("mode"), X("host-passthrough")));
	} else {
		W(xmlTextWriterWriteAttribute(w, X("mode"), X("custom")));
		W(xmlTextWriterWriteAttribute(w, X("match"), X("exact")));
		W(xmlTextWriterStartElement(w, X("model")));
		W(xmlTextWriterWriteAttribute(w, X("fallback"), X("forbid")));
		W(xmlTextWriterWriteString(w, X(p->cpu_model)));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterEndElement(w));   /* cpu */

	W(xml_elem_attr(w, "clock", "offset", "utc"));
	W(xml_elem_text(w, "on_poweroff", "destroy"));
	W(xml_elem_text(w, "on_reboot", "restart"));
	W(xml_elem_text(w, "on_crash", "destroy"));

	W(xml_write_devices(w, p));
	W(xmlTextWriterEndElement(w));   /* domain */
	return 0;
out:
	return -1;
}

int xml_build_domain(const struct xml_domain_params *p, char **out)
{
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int ret;

	*out = NULL;
	ret = xml_check_domain(p);
	if (ret < 0)
		return ret;
	ret = xml_writer_open(&buf, &w);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	if (xml_write_domain(w, p) < 0)
		goto out;
	ret = xml_writer_finish(buf, w, out);
	w = NULL;   /* freed by xml_writer_finish */
out:
	if (w)
		xmlFreeTextWriter(w);
	if (buf)
		xmlBufferFree(buf);
	return ret;
}

/* --------------------------------------------------------- pool and volumes */

int xml_build_pool(const char *name, const char *dir, char **out)
{
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int ret;

	*out = NULL;
	if (!xml_name_ok(name))
		return xml_bad("storage pool", "name");
	if (!xml_path_ok(dir))
		return xml_bad(name, "pool directory");
	ret = xml_writer_open(&buf, &w);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	W(xmlTextWriterStartElement(w, X("pool")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("dir")));
	W(xml_elem_text(w, "name", name));
	W(xmlTextWriterStartElement(w, X("target")));
	W(xml_elem_text(w, "path", dir));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));
	ret = xml_writer_finish(buf, w, out);
	w = NULL;
out:
	if (w)
		xmlFreeTextWriter(w);
	if (buf)
		xmlBufferFree(buf);
	return ret;
}

/* <target><format type='FORMAT'/><permissions><mode>0600</mode></permissions></target>:
 * overlays and seeds hold a student's data; only the hypervisor reads them. */
static int xml_write_vol_target(xmlTextWriterPtr w, const char *format)
{
	W(xmlTextWriterStartElement(w, X("target")));
	W(xml_elem_attr(w, "format", "type", format));
	W(xmlTextWriterStartElement(w, X("permissions")));
	W(xml_elem_text(w, "mode", "0600"));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));
	return 0;
out:
	return -1;
}

static int xml_write_bytes(xmlTextWriterPtr w, const char *elem, unsigned long long n)
{
	W(xmlTextWriterStartElement(w, X(elem)));
	W(xmlTextWriterWriteAttribute(w, X("unit"), X("bytes")));
	W(xmlTextWriterWriteFormatString(w, "%llu", n));
	W(xmlTextWriterEndElement(w));
	return 0;
out:
	return -1;
}

int xml_build_overlay_volume(const char *name, const char *backing_path,
			     const char *backing_format, unsigned long long capacity_bytes,
			     char **out)
{
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int ret;

	*out = NULL;
	if (!xml_name_ok(name))
		return xml_bad("overlay volume", "name");
	if (!xml_path_ok(backing_path))
		return xml_bad(name, "backing path");
	if (!backing_format || (strcmp(backing_format, "qcow2") && strcmp(backing_format, "raw")))
		return xml_bad(name, "backing format (qcow2 or raw)");
	ret = xml_writer_open(&buf, &w);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	W(xmlTextWriterStartElement(w, X("volume")));
	W(xmlTextWriterWriteAttribute(w, X("type"), X("file")));
	W(xml_elem_text(w, "name", name));
	if (capacity_bytes > 0)
		W(xml_write_bytes(w, "capacity", capacity_bytes));
	W(xml_write_vol_target(w, "qcow2"));
	/* The backing format must be stated: qemu refuses to probe it for safety. */
	W(xmlTextWriterStartElement(w, X("backingStore")));
	W(xml_elem_text(w, "path", backing_path));
	W(xml_elem_attr(w, "format", "type", backing_format));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));   /* volume */
	ret = xml_writer_finish(buf, w, out);
	w = NULL;
out:
	if (w)
		xmlFreeTextWriter(w);
	if (buf)
		xmlBufferFree(buf);
	return ret;
}

/* ------------------------------------------------------------------- reader */

static int xml_copy_attr(xmlNodePtr node, const char *attr, char *dst, size_t len)
{
	xmlChar *v = xmlGetNoNsProp(node, X(attr));
	int ret = -EINVAL;

	if (!v || !*v)
		goto out;
	ret = 0;
	if (!dst)
		goto out;
	if (strlen((const char *)v) >= len) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(dst, (const char *)v);
out:
	xmlFree(v);
	return ret;
}

int xml_domain_read_owner(const char *domain_xml, char *student, size_t student_len,
			  char *class_name, size_t class_len, unsigned *index)
{
	xmlDocPtr doc = NULL;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr res = NULL;
	xmlNodePtr node;
	xmlChar *idx = NULL;
	unsigned long v;
	char *end;
	int ret = -EINVAL;

	if (!domain_xml)
		goto out;
	/* No network, no entity expansion, no noise on stderr: this is libvirt's text, but
	 * a foreign domain's XML is not ours to trust. */
	doc = xmlReadMemory(domain_xml, (int)strnlen(domain_xml, INT32_MAX), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		goto out;
	ret = -ENOMEM;
	ctx = xmlXPathNewContext(doc);
	if (!ctx || xmlXPathRegisterNs(ctx, X("v"), X(XML_VLAB_NS)) < 0)
		goto out;
	res = xmlXPathEvalExpression(X("/domain/metadata/v:student"), ctx);
	if (!res)
		goto out;
	ret = -ENOENT;
	if (!res->nodesetval || res->nodesetval->nodeNr == 0)
		goto out;
	ret = -EINVAL;
	if (res->nodesetval->nodeNr > 1)
		goto out;
	node = res->nodesetval->nodeTab[0];

	ret = xml_copy_attr(node, "id", student, student_len);
	if (ret < 0)
		goto out;
	ret = xml_copy_attr(node, "class", class_name, class_len);
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	idx = xmlGetNoNsProp(node, X("index"));
	if (!idx || idx[0] < '0' || idx[0] > '9')
		goto out;
	errno = 0;
	v = strtoul((const char *)idx, &end, 10);
	if (errno || *end || v < 1 || v > UINT32_MAX)
		goto out;
	if (index)
		*index = (unsigned)v;
	ret = 0;
out:
	xmlFree(idx);
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}
