/* The fused loss-and-gradient step of linclf's batched core, and the scores node.
 *
 * One pass over the batch X (B, D): for each block of rows small enough to stay in the
 * core's L2 cache, the block's scores S = X W^T + b, the loss node's dS (multiclass hinge
 * or softmax cross-entropy) and the part's partial dW += dS^T X_block, reading X from
 * memory once. A call with nt threads cuts the rows into nt parts; the parts' partials
 * are then summed in part order, with the L2 penalty, so a call is deterministic for a
 * given thread count, whichever thread ran which part. The math is that of
 * linclf.losses (_hinge, _cross_entropy) and linclf.linear, which the tests hold it to.
 *
 * Built three times by setup.py from this one file: with AVX-512, with AVX2 + FMA, and for
 * the baseline of the target (SSE2 on x86-64). linclf._engine.compiled loads the widest
 * one the CPU runs (linclf_cpu_level of the baseline build) through ctypes; ctypes
 * releases the GIL for the call. The vectors are GCC/Clang vector extensions; compilers
 * without them fail the build, and setup.py then leaves the NumPy path alone.
 *
 * Threads: a small pool of pthreads (not OpenMP: GNU OpenMP hangs a fork()ed child once the
 * parent has run a parallel region). The pool is re-created in a forked child; parts are
 * claimed by whichever thread is free, and a call that finds the pool busy (another
 * Python thread's call) runs every part in its own thread: the result never depends on
 * who ran what.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define VBYTES 64
#define ISA_NAME "avx512"
#elif defined(__AVX2__)
#define VBYTES 32
#define ISA_NAME "avx2"
#else
#define VBYTES 16
#if defined(__x86_64__) || defined(__i386__)
#define ISA_NAME "sse2"
#else
#define ISA_NAME "baseline"
#endif
#endif

#ifndef RT
#define RT 4 /* rows per register tile of the scores */
#endif
#ifndef CT
#if VBYTES == 64
#define CT 5 /* at most this many classes per register tile of the scores (32 registers) */
#elif VBYTES == 32
#define CT 3 /* (16 registers; 4 x 3 measured 10-20% faster than 4 x 2 on Zen 3) */
#else
#define CT 2 /* (16 registers) */
#endif
#endif
#ifndef SUB_ROWS
#define SUB_ROWS 16 /* rows of X per sub-block of the scores (a multiple of RT) */
#endif
#define REDUCE_CHUNK 1024 /* entries of dW per pass of the reduction (in L1) */
#define COPY_ROWS 128     /* batches from this many rows read an aligned copy of W */
#ifndef KC
#if VBYTES == 32 /* columns per chunk of the scores: 2 KiB of a row (AVX2), else 1 KiB */
#define KC (2048 / (int)sizeof(REAL))
#else
#define KC (1024 / (int)sizeof(REAL))
#endif
#endif
#ifndef BCT
#if VBYTES == 64
#define BCT 10 /* at most this many classes per tile of the gradient (2 BCT accumulators) */
#else
#define BCT 6
#endif
#endif
#define MAX_THREADS 63
/* Parts of a call per thread. 2 let a worker that wakes late still find a part to take,
 * but cost a partial dW each: 1 measured faster on a quiet machine (bench_fused.py). */
#define PARTS_PER_THREAD 1
#define MAX_PARTS (MAX_THREADS * PARTS_PER_THREAD)
#ifndef BLOCK_BYTES /* bytes of X per row block: stays in L2 with W and dW */
#if VBYTES == 32
#define BLOCK_BYTES (96 * 1024) /* (AVX2: measured 5% faster than 192 KiB on Zen 3) */
#else
#define BLOCK_BYTES (192 * 1024)
#endif
#endif

typedef float vfloat __attribute__((vector_size(VBYTES)));
typedef double vdouble __attribute__((vector_size(VBYTES)));
typedef double dvec8 __attribute__((vector_size(8 * sizeof(double)))); /* sums of squares */

#if defined(__GNUC__)
#define EXPORT __attribute__((visibility("default")))
#else
#define EXPORT
#endif

/* No contraction of a * b + c into an FMA: where a result must be NumPy's bits. */
#if defined(__clang__)
#define NO_CONTRACT _Pragma("clang fp contract(off)")
#define NO_CONTRACT_ATTR
#elif defined(__GNUC__)
#define NO_CONTRACT
#define NO_CONTRACT_ATTR __attribute__((optimize("fp-contract=off")))
#else
#define NO_CONTRACT
#define NO_CONTRACT_ATTR
#endif

/* ------------------------------------------------------------------ thread pool */

/* A call splits its work into nt parts (fixed by the shapes and nt, never by who runs
 * them). Whoever is free claims the next part: the caller and the workers it woke. A
 * worker the OS has not scheduled yet (a busy machine) costs nothing: the caller runs its
 * part too, and the sums are the same because each part has its own partial sums. */
typedef void (*task_fn)(void *arg, int part, int nparts);

static struct {
    pthread_mutex_t busy; /* held by the call that owns the workers */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int started;               /* worker threads running */
    atomic_ulong generation;   /* odd: a job is open; even: none */
    atomic_int next_part;      /* the next part to claim */
    atomic_int parts_done;
    atomic_int inside;         /* workers that may be touching the open job */
    task_fn fn;
    void *arg;
    int nparts;
    int nthreads; /* of the open job: workers 1..nthreads-1 take part */
    int atfork;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER};

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* A worker spins this long for the next job before it sleeps: the Python work between
 * two steps of an epoch (the update, the next batch) takes tens of microseconds. */
#define SPIN_SECONDS 3e-4

static void claim_parts(void) {
    for (;;) {
        int part = atomic_fetch_add(&pool.next_part, 1);
        if (part >= pool.nparts) return;
        pool.fn(pool.arg, part, pool.nparts);
        atomic_fetch_add(&pool.parts_done, 1);
    }
}

static void *worker_main(void *id_) {
    int id = (int)(intptr_t)id_;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g = atomic_load(&pool.generation);
        if (g == seen || !(g & 1)) { /* nothing new: spin a while, then sleep */
            double until = now_seconds() + SPIN_SECONDS;
            int spins = 0;
            while ((g = atomic_load(&pool.generation)) == seen || !(g & 1)) {
                cpu_relax();
                if (++spins % 128 == 0 && now_seconds() > until) {
                    pthread_mutex_lock(&pool.lock);
                    while ((g = atomic_load(&pool.generation)) == seen || !(g & 1))
                        pthread_cond_wait(&pool.wake, &pool.lock);
                    pthread_mutex_unlock(&pool.lock);
                    break;
                }
            }
        }
        seen = g;
        /* Enter, then check the job is still the one seen open: the caller closes the job
         * before it waits for inside == 0, so a late worker never touches a finished one. */
        atomic_fetch_add(&pool.inside, 1);
        if (atomic_load(&pool.generation) == g && id < pool.nthreads) claim_parts();
        atomic_fetch_sub(&pool.inside, 1);
    }
    return NULL;
}

static void pool_after_fork(void) {
    /* The child has only the forking thread: forget the workers, reset the locks. */
    pthread_mutex_init(&pool.busy, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.started = 0;
    atomic_store(&pool.inside, 0);
    if (atomic_load(&pool.generation) & 1) atomic_fetch_add(&pool.generation, 1);
}

/* Start workers up to nt - 1 in all; return 1 + the number running. */
static int pool_grow(int nt) {
    if (!pool.atfork) {
        pthread_atfork(NULL, NULL, pool_after_fork);
        pool.atfork = 1;
    }
    while (pool.started < nt - 1) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, worker_main,
                                    (void *)(intptr_t)(pool.started + 1));
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.started++;
    }
    return pool.started + 1;
}

static void wait_for(atomic_int *counter, int value) {
    for (int spins = 0; atomic_load(counter) != value; spins++) {
        if (spins < 4096) cpu_relax();
        else sched_yield(); /* let a worker that holds a part run */
    }
}

/* Run fn on parts 0..nparts-1 with up to nthreads threads (the caller's included);
 * returns when all are done and no worker holds the job. */
static void pool_run(task_fn fn, void *arg, int nparts, int nthreads) {
    if (nparts > 1 && nthreads > 1 && pthread_mutex_trylock(&pool.busy) == 0) {
        if (pool_grow(nthreads) > 1) {
            pool.fn = fn;
            pool.arg = arg;
            pool.nparts = nparts;
            pool.nthreads = nthreads;
            atomic_store(&pool.next_part, 0);
            atomic_store(&pool.parts_done, 0);
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.generation, 1); /* open */
            pthread_cond_broadcast(&pool.wake);
            pthread_mutex_unlock(&pool.lock);
            claim_parts();
            wait_for(&pool.parts_done, nparts);
            atomic_fetch_add(&pool.generation, 1); /* close */
            wait_for(&pool.inside, 0);
            pthread_mutex_unlock(&pool.busy);
            return;
        }
        pthread_mutex_unlock(&pool.busy);
    }
    /* The pool is busy (another Python thread's call) or has no workers: the same parts,
     * one after another, so the sums are the same. */
    for (int part = 0; part < nparts; part++) fn(arg, part, nparts);
}

/* ------------------------------------------------------------------ the kernels */

typedef struct {
    void *p, *v;
    const void *g;
    int64_t n;
    double lr, mu;
    int nesterov;
    void *keep, *keep_b; /* fused step: where W and b go before it (NULL: nowhere) */
} sgd_job_t;

/* Rows of X to prefetch: row r at X + r ld, for r < rows. */
typedef struct {
    const void *X;
    int64_t ld, rows;
} prefetch_t;

#define SGD_SLICE 8192 /* entries of a parameter per thread of an SGD step, at least */

typedef struct {
    const void *X;
    int64_t ldx, n, d, c;
    const int64_t *y;
    const double *w; /* raw weights or NULL */
    double wtotal;
    const void *W, *b;
    const void *Ws; /* W for the scores: W, or its copy with rows placed as X's are */
    int64_t ldw;    /* the row stride of Ws, in elements */
    int64_t xh;     /* X's rows start xh elements past a vector boundary (panel_scores) */
    int loss; /* 0 hinge, 1 softmax, -1 scores only */
    double delta, reg;
    void *dW, *db, *S;
    void *scratch; /* each part's partial dW, block of dS, db sums */
    int64_t block_rows;
    int64_t ldp; /* the row stride of the partial dW (partial_ld) */
    int parts;   /* partial dW arrays in scratch, summed into dW by the reduction */
    const sgd_job_t *step; /* the optimizer's step to apply to W after the reduction */
    prefetch_t then;       /* the next call's batch, if the caller knows it (rows: its n) */
    int threads;           /* of the call */
    double loss_part[MAX_PARTS];
    double wsq_part[MAX_THREADS];
} job_t;

/* Rows of part `part` of nt: contiguous runs in units of RT rows, in order. */
static void part_rows(int64_t n, int part, int nt, int64_t *lo, int64_t *hi) {
    int64_t tiles = (n + RT - 1) / RT;
    *lo = tiles * part / nt * RT;
    *hi = tiles * (part + 1) / nt * RT;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

static int clamp_threads(int nt) { return nt < 1 ? 1 : nt > MAX_THREADS ? MAX_THREADS : nt; }

/* The parts of a call: PARTS_PER_THREAD per thread, at least 16 rows each (one thread:
 * one part). Fixed by n and nt only, so the sums are too. A worker the OS schedules late
 * leaves its part to the caller, so a busy machine costs at most the 1-thread time. */
static int parts_for(int64_t n, int nt) {
    if (nt <= 1) return 1;
    int64_t parts = (int64_t)nt * PARTS_PER_THREAD, most = n / 16;
    if (parts > most) parts = most > nt ? most : nt;
    return (int)parts;
}

/* The scratch of a call, from its 64-byte aligned start: a copy of W with aligned rows
 * (used when W's rows are not aligned), the partial dW of each part, each part's own. */
static int64_t round64(int64_t bytes) { return (bytes + 63) / 64 * 64; }
static int64_t aligned_row(int64_t d, int64_t itemsize) { return round64(d * itemsize) / itemsize; }
/* A part's partial dW: row j at j ldp + xh elements from its aligned start (rows laid out as
 * X's, so the gradient's loads of X never straddle two cache lines), ldp = partial_ld. */
static int64_t partial_ld(int64_t d, int64_t itemsize) {
    return aligned_row(d + VBYTES / itemsize, itemsize);
}
static int64_t partial_bytes(int64_t c, int64_t d, int64_t itemsize) {
    return round64(c * partial_ld(d, itemsize) * itemsize);
}
static char *align64(void *p) { return (char *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

static int64_t block_rows_for(int64_t d, int64_t itemsize) {
    int64_t rows = BLOCK_BYTES / (d * itemsize > 0 ? d * itemsize : 1);
    rows -= rows % RT;
    return rows < RT ? RT : rows > 512 ? 512 : rows;
}

#define REAL float
#define ITYPE int32_t
#define VEC vfloat
#define SUFFIX f32
#include "fused_body.h"
#undef REAL
#undef ITYPE
#undef VEC
#undef SUFFIX

#define REAL double
#define ITYPE int64_t
#define VEC vdouble
#define SUFFIX f64
#include "fused_body.h"
#undef REAL
#undef ITYPE
#undef VEC
#undef SUFFIX

/* ------------------------------------------------------------------ the interface */

EXPORT const char *linclf_isa(void) { return ISA_NAME; }

EXPORT int linclf_abi(void) { return 7; }

/* 2 for AVX-512 (F) with AVX2 and FMA, 1 for AVX2 and FMA, 0 otherwise: what the CPU
 * and the operating system run (GCC's and Clang's checks include the OS's XSAVE state). */
EXPORT int linclf_cpu_level(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f")) return 2;
    return avx2 ? 1 : 0;
#else
    return 0;
#endif
}

/* Bytes of scratch a call with these shapes and threads needs. */
EXPORT int64_t linclf_scratch_bytes(int64_t c, int64_t d, int64_t itemsize, int nt) {
    int64_t rows = block_rows_for(d, itemsize);
    nt = clamp_threads(nt) * (clamp_threads(nt) > 1 ? PARTS_PER_THREAD : 1); /* parts, at most */
    int64_t per_part = rows * c * itemsize + c * (int64_t)sizeof(double) + 64;
    return 64 + c * aligned_row(d + VBYTES / itemsize, itemsize) * itemsize +
           (int64_t)nt * partial_bytes(c, d, itemsize) +
           (int64_t)nt * per_part;
}

static PyModuleDef module_def = {PyModuleDef_HEAD_INIT, .m_name = "linclf fused kernels", .m_size = -1};

#define CONCAT2(a, b) a##b
#define CONCAT(a, b) CONCAT2(a, b)
PyMODINIT_FUNC CONCAT(PyInit_, LINCLF_MODULE)(void) { return PyModule_Create(&module_def); }
