/* Address arithmetic: CIDR, MAC, index -> MAC/IP. Pure functions, no I/O. */
#ifndef VLAB_ADDR_H
#define VLAB_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_MAC_STRLEN 18   /* "aa:bb:cc:dd:ee:ff" + NUL */

/* "A.B.C.D/N" -> network (host bits must be zero) and prefix; 0 or -EINVAL. */
int addr_parse_cidr(const char *s, struct in_addr *net, unsigned *prefix);
/*
 * "A.B.C.D/N" with N in 0..32, host bits allowed: the address and its prefix length.
 * For callers that want to say *why* a CIDR is wrong; 0 or -EINVAL.
 */
int addr_parse_ip_prefix(const char *s, struct in_addr *ip, unsigned *prefix);
/* Strict dotted quad (no leading zeros, no shorthand); 0 or -EINVAL. */
int addr_parse_ipv4(const char *s, struct in_addr *out);
/* "aa:bb:cc:dd:ee:ff" (case-insensitive); 0 or -EINVAL. */
int addr_parse_mac(const char *s, uint8_t mac[6]);
void addr_format_mac(const uint8_t mac[6], char out[ADDR_MAC_STRLEN]);
/* "aa:bb:cc" -> 3 bytes; must be unicast and locally administered; 0 or -EINVAL. */
int addr_parse_mac_prefix(const char *s, uint8_t out[3]);

bool addr_in_subnet(struct in_addr ip, struct in_addr net, unsigned prefix);
struct in_addr addr_netmask(unsigned prefix);
/* First usable address (the gateway): net + 1. */
struct in_addr addr_gateway(struct in_addr net, unsigned prefix);
/* A usable host address for a VM: inside, not network, gateway or broadcast. */
bool addr_is_vm_host(struct in_addr ip, struct in_addr net, unsigned prefix);

/*
 * Student index -> addresses. Indexes start at 1. IP = net + 1 + index (net+1 is the
 * gateway); MAC = prefix:idx>>16:idx>>8:idx. addr_index_capacity() is the largest
 * valid index for the subnet (and the 24-bit MAC suffix).
 */
uint32_t addr_index_capacity(unsigned prefix);
int addr_ip_for_index(struct in_addr net, unsigned prefix, uint32_t index, struct in_addr *out);
int addr_mac_for_index(const uint8_t prefix[3], uint32_t index, uint8_t mac[6]);

/* "lo-hi" with 1 <= lo <= hi <= 65535; 0, or -EINVAL (-ERANGE when reversed). */
int addr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);

#endif
