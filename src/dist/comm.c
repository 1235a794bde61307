/* The communicator over MPI (comm.h). Built without NNC_MPI, a communicator cannot be made
 * (nnc_comm_world says how to get one) and the functions that take one are never reached
 * with a real one: they return at once. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "comm.h"
#ifdef NNC_MPI
#include <mpi.h>
#endif

struct nnc_comm {
    int rank, size;
    double timeout_s;    /* the longest wait for the other ranks */
    double waited_s;     /* time spent waiting since the last nnc_comm_take_wait_seconds */
#ifdef NNC_MPI
    MPI_Comm comm;       /* our own duplicate: nnc's messages never meet the program's */
    int finalize;        /* nnc_comm_world initialized MPI, so nnc_comm_free finalizes it */
    MPI_Request *reqs;   /* in flight */
    int n_reqs, cap_reqs;
    struct ring_op *ring; /* large float sums in flight, each a ring (see struct ring_op) */
    int n_ring, cap_ring;
    float *scratch;       /* where their pieces arrive before they are added */
    size_t scratch_used, cap_scratch;
    int ring_failed;
#endif
};

bool nnc_mpi_built(void) {
#ifdef NNC_MPI
    return true;
#else
    return false;
#endif
}

int nnc_comm_rank(const nnc_comm *c) { return c ? c->rank : 0; }
int nnc_comm_size(const nnc_comm *c) { return c ? c->size : 1; }
double nnc_comm_take_wait_seconds(nnc_comm *c) {
    double w = c ? c->waited_s : 0.0;
    if (c) c->waited_s = 0.0;
    return w;
}

nnc_status nnc_comm_set_timeout(nnc_comm *c, double seconds) {
    if (!c || !(seconds > 0.0)) return NNC_ERR_ARG;
    c->timeout_s = seconds;
    return NNC_OK;
}

#ifndef NNC_MPI
static nnc_comm *no_mpi(nnc_error *err) {
    if (err)
        snprintf(err->message, sizeof err->message,
                 "this nnc was built without MPI: rebuild with cmake -DNNC_MPI=ON to train on several processes");
    return NULL;
}
nnc_comm *nnc_comm_world(int *argc, char ***argv, nnc_error *err) { return (void)argc, (void)argv, no_mpi(err); }
nnc_comm *nnc_comm_from_mpi(const void *mpi_comm, nnc_error *err) { return (void)mpi_comm, no_mpi(err); }
void nnc_comm_free(nnc_comm *c) { free(c); }
void nnc_comm_abort(nnc_comm *c, int code) { (void)c, exit(code); }
nnc_status nnc_comm_reserve(nnc_comm *c, int n, size_t sum_floats) {
    return (void)c, (void)n, (void)sum_floats, NNC_OK;
}
nnc_status nnc_comm_start_reduce(nnc_comm *c, void *buf, size_t count, nnc_red_type t, nnc_red_op op) {
    return (void)c, (void)buf, (void)count, (void)t, (void)op, NNC_OK;
}
nnc_status nnc_comm_start_bcast(nnc_comm *c, void *buf, size_t bytes, int root) {
    return (void)c, (void)buf, (void)bytes, (void)root, NNC_OK;
}
void nnc_comm_progress(nnc_comm *c) { (void)c; }
nnc_status nnc_comm_wait(nnc_comm *c, char *err, size_t n) { return (void)c, (void)err, (void)n, NNC_OK; }
nnc_status nnc_comm_allgather_u64(nnc_comm *c, uint64_t v, uint64_t *all, char *err, size_t n) {
    return (void)c, (void)err, (void)n, all[0] = v, NNC_OK;
}
#else

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static nnc_comm *wrap(MPI_Comm base, int finalize, nnc_error *err) {
    nnc_comm *c = calloc(1, sizeof *c);
    if (!c || MPI_Comm_dup(base, &c->comm) != MPI_SUCCESS) {
        if (err) snprintf(err->message, sizeof err->message, "MPI: cannot make a communicator");
        free(c);
        return NULL;
    }
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    c->timeout_s = 600.0;
    c->finalize = finalize;
    return c;
}

nnc_comm *nnc_comm_world(int *argc, char ***argv, nnc_error *err) {
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    /* The program may have initialized MPI itself: then it finalizes it too. Only the thread
     * that trains calls MPI (the thread pool never does): FUNNELED is enough. */
    if (!inited && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        if (err) snprintf(err->message, sizeof err->message, "MPI_Init_thread failed");
        return NULL;
    }
    return wrap(MPI_COMM_WORLD, !inited, err);
}

nnc_comm *nnc_comm_from_mpi(const void *mpi_comm, nnc_error *err) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited || !mpi_comm) {
        if (err) snprintf(err->message, sizeof err->message, "nnc_comm_from_mpi: MPI is not initialized");
        return NULL;
    }
    return wrap(*(const MPI_Comm *)mpi_comm, 0, err);
}

void nnc_comm_free(nnc_comm *c) {
    if (!c) return;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Comm_free(&c->comm);
    if (c->finalize && !fin) MPI_Finalize();
    free(c->reqs);
    free(c->ring);
    free(c->scratch);
    free(c);
}

void nnc_comm_abort(nnc_comm *c, int code) {
    if (c) MPI_Abort(c->comm, code);
    exit(code);
}

/* A sum of floats as a ring (reduce-scatter, then all-gather): the buffer is cut in size
 * pieces; in step s < P-1 rank r sends piece r-s to rank r+1 and adds piece r-s-1 from rank
 * r-1 to its own, so after P-1 steps rank r holds the whole sum of piece r+1; the next P-1
 * steps pass the finished pieces round. Each element is added in an order fixed by the ranks
 * alone, and each finished piece is computed once and copied, so every rank gets the same
 * bits in every run. It exists because MPI_Iallreduce (Open MPI 4.1's libnbc) allocates a
 * temporary as large as the buffer on each call: fresh pages that fault in every step (B2's
 * 2.1 MB of gradients: 5.7 ms of waiting per step, against 0.06 ms with pages kept). */
struct ring_op {
    float *buf, *tmp;
    size_t n;
    int step, tag;
    MPI_Request rq[2];
};

/* Sums of fewer floats than this go to MPI_Iallreduce: their temporaries are small. */
enum { RING_MIN_FLOATS = 4096 };

nnc_status nnc_comm_reserve(nnc_comm *c, int n, size_t sum_floats) {
    if (!c) return NNC_OK;
    if (n > c->cap_reqs) {
        MPI_Request *r = realloc(c->reqs, (size_t)n * sizeof *r);
        if (!r) return NNC_ERR_NOMEM;
        c->reqs = r;
        c->cap_reqs = n;
    }
    if (n > c->cap_ring) {
        struct ring_op *r = realloc(c->ring, (size_t)n * sizeof *r);
        if (!r) return NNC_ERR_NOMEM;
        c->ring = r;
        c->cap_ring = n;
    }
    /* a piece is at most n/size + 1 floats, one piece per sum in flight */
    size_t need = sum_floats / (size_t)c->size + (size_t)n;
    if (need > c->cap_scratch) {
        float *f = realloc(c->scratch, need * sizeof *f);
        if (!f) return NNC_ERR_NOMEM;
        c->scratch = f;
        c->cap_scratch = need;
    }
    return NNC_OK;
}

static MPI_Request *next_req(nnc_comm *c) {
    if (c->n_reqs == c->cap_reqs && nnc_comm_reserve(c, c->cap_reqs ? 2 * c->cap_reqs : 8, 0)) return NULL;
    return &c->reqs[c->n_reqs++];
}

/* Piece k of n floats over p ranks: the first n % p pieces one longer. */
static void piece(size_t n, int p, int k, size_t *off, size_t *len) {
    const size_t base = n / (size_t)p, rem = n % (size_t)p, kk = (size_t)k;
    *off = kk * base + (kk < rem ? kk : rem);
    *len = base + (kk < rem);
}

static int mod(int a, int p) { return ((a % p) + p) % p; }

static void ring_post(nnc_comm *c, struct ring_op *o) {
    const int p = c->size, r = c->rank, s = o->step, gather = s >= p - 1;
    const int send = gather ? mod(r + 1 - (s - (p - 1)), p) : mod(r - s, p);
    const int recv = gather ? mod(r - (s - (p - 1)), p) : mod(r - s - 1, p);
    size_t so, sl, ro, rl;
    piece(o->n, p, send, &so, &sl);
    piece(o->n, p, recv, &ro, &rl);
    if (MPI_Irecv(gather ? o->buf + ro : o->tmp, (int)rl, MPI_FLOAT, mod(r - 1, p), o->tag, c->comm, &o->rq[0]) ||
        MPI_Isend(o->buf + so, (int)sl, MPI_FLOAT, mod(r + 1, p), o->tag, c->comm, &o->rq[1]))
        c->ring_failed = 1;
}

/* Moves a ring along as far as its messages have come; true when it is finished. */
static bool ring_advance(nnc_comm *c, struct ring_op *o) {
    const int p = c->size;
    while (o->step < 2 * (p - 1)) {
        int done = 0;
        MPI_Testall(2, o->rq, &done, MPI_STATUSES_IGNORE);
        if (!done) return false;
        if (o->step < p - 1) {
            size_t off, len;
            piece(o->n, p, mod(c->rank - o->step - 1, p), &off, &len);
            float *dst = o->buf + off;
            for (size_t i = 0; i < len; i++) dst[i] += o->tmp[i];
        }
        if (++o->step < 2 * (p - 1)) ring_post(c, o);
    }
    return true;
}

static bool start_ring(nnc_comm *c, float *buf, size_t count) {
    const size_t len = count / (size_t)c->size + 1;
    if (c->n_ring == c->cap_ring || c->scratch_used + len > c->cap_scratch) return false;
    struct ring_op *o = &c->ring[c->n_ring];
    *o = (struct ring_op){.buf = buf, .tmp = c->scratch + c->scratch_used, .n = count, .tag = c->n_ring};
    c->n_ring++;
    c->scratch_used += len;
    ring_post(c, o);
    return true;
}

nnc_status nnc_comm_start_reduce(nnc_comm *c, void *buf, size_t count, nnc_red_type t, nnc_red_op op) {
    if (!c || c->size == 1 || count == 0) return NNC_OK;
    if (count > (size_t)1 << 30) return NNC_ERR_ARG; /* buckets are far smaller */
    if (t == NNC_T_FLOAT && op == NNC_RED_SUM && count >= RING_MIN_FLOATS && start_ring(c, buf, count))
        return c->ring_failed ? NNC_ERR_IO : NNC_OK;
    MPI_Request *r = next_req(c);
    if (!r) return NNC_ERR_NOMEM;
    MPI_Datatype dt = t == NNC_T_FLOAT ? MPI_FLOAT : t == NNC_T_DOUBLE ? MPI_DOUBLE : MPI_UINT64_T;
    /* MPI's algorithm for a reduction is chosen from the communicator's size and the count,
     * never from timing, so the order of the additions is the same in every run; with two
     * ranks every algorithm computes a + b, the same bits on both. */
    if (MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, dt, op == NNC_RED_SUM ? MPI_SUM : MPI_MAX, c->comm, r) !=
        MPI_SUCCESS)
        return NNC_ERR_IO;
    return NNC_OK;
}

nnc_status nnc_comm_start_bcast(nnc_comm *c, void *buf, size_t bytes, int root) {
    if (!c || c->size == 1) return NNC_OK;
    MPI_Request *r = next_req(c);
    if (!r) return NNC_ERR_NOMEM;
    return MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, c->comm, r) == MPI_SUCCESS ? NNC_OK : NNC_ERR_IO;
}

/* One pass over everything in flight; true when all of it is finished. */
static bool progress(nnc_comm *c) {
    int done = 1;
    if (c->n_reqs) MPI_Testall(c->n_reqs, c->reqs, &done, MPI_STATUSES_IGNORE);
    for (int i = 0; i < c->n_ring; i++)
        if (!ring_advance(c, &c->ring[i])) done = 0;
    return done;
}

void nnc_comm_progress(nnc_comm *c) {
    if (c) progress(c);
}

nnc_status nnc_comm_wait(nnc_comm *c, char *err, size_t n) {
    if (!c || (!c->n_reqs && !c->n_ring)) return NNC_OK;
    const double t0 = now_s();
    for (;;) {
        if (c->ring_failed) {
            if (err) snprintf(err, n, "a message to a neighbouring rank could not be started");
            return NNC_ERR_IO;
        }
        if (progress(c)) break;
        double t = now_s() - t0;
        if (t > c->timeout_s) {
            c->waited_s += t;
            if (err)
                snprintf(err, n, "no answer from the other ranks within %g s: a rank died or hangs "
                         "(the timeout is set with --comm-timeout)", c->timeout_s);
            return NNC_ERR_IO;
        }
        /* Nonblocking collectives move only inside MPI's calls, one round (or one handshake
         * of a large message) at a time, so the loop keeps calling for the first 5 ms; after
         * that it sleeps a little between calls, leaving the core to the rank it waits for when
         * ranks outnumber cores. */
        if (t > 5e-3) {
            struct timespec ts = {0, 10000};
            nanosleep(&ts, NULL);
        }
    }
    c->waited_s += now_s() - t0;
    c->n_reqs = c->n_ring = 0;
    c->scratch_used = 0;
    return NNC_OK;
}

nnc_status nnc_comm_allgather_u64(nnc_comm *c, uint64_t v, uint64_t *all, char *err, size_t n) {
    if (!c || c->size == 1) return all[0] = v, NNC_OK;
    MPI_Request *r = next_req(c);
    if (!r) return NNC_ERR_NOMEM;
    if (MPI_Iallgather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, c->comm, r) != MPI_SUCCESS) return NNC_ERR_IO;
    return nnc_comm_wait(c, err, n);
}

#endif

int nnc_comm_agree(nnc_comm *c, int failed, char *msg, size_t n) {
    if (!c || c->size == 1) return failed ? 0 : -1;
    /* The lowest failing rank: the largest size - rank among those that failed. */
    uint64_t key = failed ? (uint64_t)(c->size - c->rank) : 0;
    char e[256] = "";
    if (nnc_comm_start_reduce(c, &key, 1, NNC_T_U64, NNC_RED_MAX) || nnc_comm_wait(c, e, sizeof e)) {
        /* the vote itself got no answer: nothing can end in order, so say why and end the job */
        fprintf(stderr, "nnc: rank %d: %s\n", c->rank, e);
        nnc_comm_abort(c, 1);
    }
    if (!key) return -1;
    int who = c->size - (int)key;
    if (n && nnc_comm_start_bcast(c, msg, n, who) == NNC_OK && nnc_comm_wait(c, e, sizeof e) == NNC_OK)
        msg[n - 1] = '\0';
    return who;
}

int nnc_launched_ranks(void) {
    /* Open MPI's mpirun, then the PMI of MPICH's hydra and Slurm's srun. */
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) return atoi(v);
    }
    return 1;
}
