/* Exported forwarders for DPDK's static-inline functions; see rvs_shim.h. */
#include "rvs_shim.h"

uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			  uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, pkts, nb_pkts);
}

uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			  uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, pkts, nb_pkts);
}

struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void rvs_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
char *rvs_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, char *); }
uint16_t rvs_pktmbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
uint32_t rvs_pktmbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
uint16_t rvs_pktmbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }
uint16_t rvs_mbuf_port(const struct rte_mbuf *m) { return m->port; }

uint64_t rvs_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset)
{
	return *RTE_MBUF_DYNFIELD(m, offset, const uint64_t *);
}

unsigned int rvs_lcore_id(void) { return rte_lcore_id(); }
int rvs_errno(void) { return rte_errno; }

unsigned int rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned int n)
{
	return rte_ring_enqueue_burst(r, objs, n, NULL);
}

unsigned int rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned int n)
{
	return rte_ring_dequeue_burst(r, objs, n, NULL);
}

unsigned int rvs_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }

uint64_t rvs_rx_offload_timestamp(void) { return RTE_ETH_RX_OFFLOAD_TIMESTAMP; }
