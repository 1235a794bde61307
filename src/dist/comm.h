/* The communicator of data-parallel training: a thin layer over MPI (built with NNC_MPI) that
 * the training loop uses without knowing MPI. Every collective is nonblocking underneath and
 * waited for with a deadline, so a rank that died or hangs ends the job with a message instead
 * of a hang. Requests are kept in an array reserved before training (nnc_comm_reserve), so a
 * training step allocates nothing. Without NNC_MPI, only a communicator of one rank exists and
 * every collective is the identity. */
#ifndef NNC_COMM_H
#define NNC_COMM_H
#include <stddef.h>
#include <stdint.h>
#include "nnc.h"

typedef enum { NNC_RED_SUM, NNC_RED_MAX } nnc_red_op;
typedef enum { NNC_T_FLOAT, NNC_T_DOUBLE, NNC_T_U64 } nnc_red_type;

/* Makes room for n collectives in flight at once, whose float sums add up to at most
 * sum_floats values (called when training is planned: a step then allocates nothing). */
nnc_status nnc_comm_reserve(nnc_comm *c, int n, size_t sum_floats);
/* Starts an in-place reduction of count values of buf over every rank; the result is
 * valid after nnc_comm_wait. Collectives must start in the same order on every rank. */
nnc_status nnc_comm_start_reduce(nnc_comm *c, void *buf, size_t count, nnc_red_type t, nnc_red_op op);
/* Starts a broadcast of bytes bytes from root. */
nnc_status nnc_comm_start_bcast(nnc_comm *c, void *buf, size_t bytes, int root);
/* Lets MPI move the requests in flight along (MPI progresses nonblocking collectives only
 * inside its calls); returns at once. */
void nnc_comm_progress(nnc_comm *c);
/* Waits for every request in flight, at most the communicator's timeout; on timeout returns
 * NNC_ERR_IO with "no answer from the other ranks within T s" in err. */
nnc_status nnc_comm_wait(nnc_comm *c, char *err, size_t n);
/* Every rank's v into all[size] (all reserved by the caller). */
nnc_status nnc_comm_allgather_u64(nnc_comm *c, uint64_t v, uint64_t *all, char *err, size_t n);
/* Seconds spent inside nnc_comm_wait since the last call (and zeroes the count). */
double nnc_comm_take_wait_seconds(nnc_comm *c);

#endif
