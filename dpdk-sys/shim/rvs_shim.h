/*
 * The C side of dpdk-sys: the DPDK headers rvs binds to, and exported copies of the
 * static-inline fast-path functions and macros that bindgen cannot link to.
 *
 * Every function here is a one-line forwarder; the Rust side documents the contracts.
 */
#ifndef RVS_SHIM_H
#define RVS_SHIM_H

#include <stdint.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			  uint16_t nb_pkts);
uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			  uint16_t nb_pkts);

struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp);
void rvs_pktmbuf_free(struct rte_mbuf *m);
char *rvs_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t rvs_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t rvs_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m);
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m);
uint16_t rvs_mbuf_port(const struct rte_mbuf *m);
uint64_t rvs_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset);

unsigned int rvs_lcore_id(void);
int rvs_errno(void);

unsigned int rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned int n);
unsigned int rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned int n);
unsigned int rvs_ring_count(const struct rte_ring *r);

uint64_t rvs_rx_offload_timestamp(void);

/*
 * The RSS hash types rvs asks for. DPDK defines them with RTE_BIT64(), which bindgen does
 * not expand; as constants here they become plain Rust constants.
 */
static const uint64_t RVS_ETH_RSS_IPV4 = RTE_ETH_RSS_IPV4;
static const uint64_t RVS_ETH_RSS_FRAG_IPV4 = RTE_ETH_RSS_FRAG_IPV4;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_TCP = RTE_ETH_RSS_NONFRAG_IPV4_TCP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_UDP = RTE_ETH_RSS_NONFRAG_IPV4_UDP;
static const uint64_t RVS_ETH_RSS_NONFRAG_IPV4_OTHER = RTE_ETH_RSS_NONFRAG_IPV4_OTHER;

#endif
