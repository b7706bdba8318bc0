/* The kernels of fused.c for one floating type: included with REAL (float or double),
 * VEC (its vector type) and SUFFIX (f32 or f64) defined. */

#define NAME3(a, b) a##_##b
#define NAME2(a, b) NAME3(a, b)
#define F(name) NAME2(name, SUFFIX)
#define VL ((int)(sizeof(VEC) / sizeof(REAL)))
#define INLINE static inline __attribute__((always_inline))

INLINE VEC F(vload)(const REAL *p) {
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void F(vstore)(REAL *p, VEC v) { memcpy(p, &v, sizeof v); }

/* The sum of v's lanes, pairwise (a tree of depth log2 VL, not a chain of VL adds): lane
 * k + VL/2 to lane k, then k + VL/4, ...; so rotating the lanes changes no bit. */
INLINE REAL F(hsum)(VEC v) {
    REAL t[VL];
    memcpy(t, &v, sizeof v);
    for (int width = VL / 2; width >= 1; width /= 2)
        for (int k = 0; k < width; k++) t[k] += t[k + width];
    return t[0];
}

typedef ITYPE F(ivec) __attribute__((vector_size(sizeof(VEC))));

INLINE VEC F(masked)(VEC v, F(ivec) keep) {
    F(ivec) bits;
    memcpy(&bits, &v, sizeof v);
    bits &= keep;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* acc[r][j] += x_r[k:k + VL] * w_j[k:k + VL] on the lanes `keep` keeps (0 on the others:
 * there the loads may hold another row's numbers, even NaN). */
INLINE void F(dot_masked)(const REAL *const *x, const REAL *const *w, int64_t k, const int nc,
                          VEC acc[RT][CT], F(ivec) keep) {
    VEC xv[RT];
    for (int r = 0; r < RT; r++) xv[r] = F(masked)(F(vload)(x[r] + k), keep);
    for (int j = 0; j < nc; j++) {
        VEC wv = F(masked)(F(vload)(w[j] + k), keep);
        for (int r = 0; r < RT; r++) acc[r][j] += xv[r] * wv;
    }
}

/* acc[r][j] (+)= x_r[k0:k1] * w_j[k0:k1] lane by lane, for RT rows and nc <= CT classes (a
 * register tile), k0 and k1 multiples of VL; the tile's sums start at 0 when first. With
 * pf, the same columns of pf go to L2 as it goes, a cache line per FMA burst. `head` and
 * `tail`, if not NULL, keep only some lanes of the vectors at k0 and at k1 - VL (the
 * edges of a row whose vectors start before it: see panel_scores). */
INLINE void F(dot_chunk)(const REAL *const *x, const REAL *const *w, int64_t k0, int64_t k1,
                         const int nc, VEC acc_out[RT][CT], int first, const REAL *pf,
                         const F(ivec) *head, const F(ivec) *tail) {
    VEC acc[RT][CT];
    for (int r = 0; r < RT; r++)
        for (int j = 0; j < nc; j++) acc[r][j] = first ? (VEC){0} : acc_out[r][j];
    if (head != NULL) { /* the first vector, masked */
        F(dot_masked)(x, w, k0, nc, acc, *head);
        k0 += VL;
    }
    int64_t last = tail != NULL ? k1 - VL : k1;
    for (int64_t k = k0; k < last; k += VL) {
        if (pf && (k * (int64_t)sizeof(REAL)) % 64 == 0) __builtin_prefetch(pf + k, 0, 2);
        VEC xv[RT];
        for (int r = 0; r < RT; r++) xv[r] = F(vload)(x[r] + k);
        for (int j = 0; j < nc; j++) {
            VEC wv = F(vload)(w[j] + k);
            for (int r = 0; r < RT; r++) acc[r][j] += xv[r] * wv;
        }
    }
    if (tail != NULL) F(dot_masked)(x, w, last, nc, acc, *tail); /* the last, masked */
    for (int r = 0; r < RT; r++)
        for (int j = 0; j < nc; j++) acc_out[r][j] = acc[r][j];
}

/* The class tiles of the scores: tile t covers classes [c t / tiles, c (t + 1) / tiles). */
INLINE int64_t F(tile_start)(int64_t c, int64_t t) { return c * t / ((c + CT - 1) / CT); }

/* S[i - lo, j] = x_i . w_j + b_j for the rows [lo, hi) of a sub-block (<= SUB_ROWS rows,
 * padded to RT by repeating the last one) and the class tiles [t0, t1) (<= 2 of them).
 * The columns go in chunks of KC, so the chunk of the sub-block's rows and of the
 * tiles' weights stays in L1 while every tile of the sub-block uses it; each tile's sums
 * stay in vector lanes until the last chunk. Class tile t < RT / 2 of the row tile at
 * row r of the block (`base` rows before lo) prefetches row r + t of *pf, a line per step
 * of its loop (block_backward prefetches the other rows: X streams from memory through
 * the whole block's work, not in a burst).
 *
 * X's rows start job->xh elements past a vector boundary: the vectors are loaded from
 * there (row - xh), aligned, so lane l holds the columns = l - xh (mod VL), the lanes
 * outside the row masked. Each lane gets the FMAs of its columns in the order an aligned
 * X gives, and hsum's tree, which adds lanes VL/2, VL/4, ... apart, adds the same pairs
 * for lanes rotated by any amount: the same bits as an aligned X (tested). W's rows are
 * read from the same offset (aligned_weights lays out job->Ws so). */
static void F(panel_scores)(const job_t *job, int64_t lo, int64_t hi, int64_t t0, int64_t t1,
                            REAL *S, int64_t lds, int64_t base, const prefetch_t *pf) {
    const REAL *X = (const REAL *)job->X, *W = (const REAL *)job->Ws;
    const REAL *b = (const REAL *)job->b;
    int64_t d = job->d, c = job->c, dv = d - d % VL, ldw = job->ldw, h = job->xh;
    int64_t span = dv > 0 ? dv + h : 0, end = (span + VL - 1) / VL * VL; /* from row - h */
    F(ivec) lead, trail, both; /* the lanes of the first and last vectors inside [0, dv) */
    for (int l = 0; l < VL; l++) {
        lead[l] = l >= h ? -1 : 0;
        trail[l] = span % VL == 0 || l < span % VL ? -1 : 0;
        both[l] = lead[l] & trail[l];
    }
    VEC acc[SUB_ROWS / RT][2][RT][CT];
    for (int64_t k0 = 0; k0 < end; k0 += KC) {
        int64_t k1 = k0 + KC < end ? k0 + KC : end;
        const F(ivec) *head = k0 == 0 && h > 0 ? &lead : NULL;
        const F(ivec) *tail = k1 == end && span % VL != 0 ? &trail : NULL;
        if (head != NULL && tail != NULL && k1 - k0 == VL) head = &both, tail = NULL;
        for (int64_t i = lo; i < hi; i += RT) {
            const REAL *x[RT];
            for (int r = 0; r < RT; r++)
                x[r] = X + (i + r < hi ? i + r : hi - 1) * job->ldx - h;
            for (int64_t t = t0; t < t1; t++) {
                int64_t j = F(tile_start)(c, t);
                int nc = (int)(F(tile_start)(c, t + 1) - j);
                const REAL *w[CT];
                for (int q = 0; q < CT; q++) w[q] = W + (j + (q < nc ? q : 0)) * ldw - h;
                VEC(*tile)[CT] = acc[(i - lo) / RT][t - t0];
                int64_t r = base + i - lo + t; /* the row of *pf this tile prefetches */
                const REAL *ahead = t < RT / 2 && i + t < hi && r < pf->rows
                                        ? (const REAL *)pf->X + r * pf->ld - h
                                        : NULL;
                switch (nc) {
#if CT >= 5
                    case 5: F(dot_chunk)(x, w, k0, k1, 5, tile, k0 == 0, ahead, head, tail); break;
#endif
#if CT >= 4
                    case 4: F(dot_chunk)(x, w, k0, k1, 4, tile, k0 == 0, ahead, head, tail); break;
#endif
#if CT >= 3
                    case 3: F(dot_chunk)(x, w, k0, k1, 3, tile, k0 == 0, ahead, head, tail); break;
#endif
                    case 2: F(dot_chunk)(x, w, k0, k1, 2, tile, k0 == 0, ahead, head, tail); break;
                    default: F(dot_chunk)(x, w, k0, k1, 1, tile, k0 == 0, ahead, head, tail); break;
                }
            }
        }
    }
    for (int64_t i = lo; i < hi; i++)
        for (int64_t t = t0; t < t1; t++)
            for (int64_t j = F(tile_start)(c, t); j < F(tile_start)(c, t + 1); j++) {
                int64_t q = j - F(tile_start)(c, t);
                REAL s = dv > 0 ? F(hsum)(acc[(i - lo) / RT][t - t0][(i - lo) % RT][q]) : 0;
                for (int64_t k = dv; k < d; k++) s += X[i * job->ldx + k] * W[j * ldw + k];
                S[(i - lo) * lds + j] = s + (b ? b[j] : (REAL)0);
            }
}

/* S_block[i - lo, :] = X_i W^T + b for rows lo <= i < hi: sub-blocks of SUB_ROWS rows,
 * panels of two class tiles; prefetching rows of *pf (the block that comes next). */
static void F(block_scores)(const job_t *job, int64_t lo, int64_t hi, REAL *S, int64_t lds,
                            const prefetch_t *pf) {
    int64_t tiles = (job->c + CT - 1) / CT;
    for (int64_t i = lo; i < hi; i += SUB_ROWS) {
        int64_t stop = i + SUB_ROWS < hi ? i + SUB_ROWS : hi;
        for (int64_t t = 0; t < tiles; t += 2)
            F(panel_scores)(job, i, stop, t, t + 2 < tiles ? t + 2 : tiles, S + (i - lo) * lds,
                            lds, i - lo, pf);
    }
}

/* a_i, the row's share of the batch weight: w_i / sum(w) (0 if the sum is 0), or 1/n. */
INLINE double F(share)(const job_t *job, int64_t i) {
    if (!job->w) return 1.0 / (double)job->n;
    return job->wtotal > 0.0 ? job->w[i] / job->wtotal : 0.0;
}

/* The hinge node on one row of scores, in place: returns L_i, leaves a_i dL_i/ds_i.
 * m_ij = s_ij - (s_iy - delta); as linclf.losses._hinge, in REAL. */
INLINE double F(hinge_row)(REAL *s, int64_t c, int64_t y, REAL delta, double a) {
    REAL shifted = s[y] - delta, ar = (REAL)a;
    double loss = 0.0;
    REAL count = 0;
    for (int64_t j = 0; j < c; j++) { /* without branches: the margins' signs are random */
        REAL m = j == y ? (REAL)0 : s[j] - shifted;
        int on = !(m <= 0); /* a NaN margin counts, so a NaN score gives a NaN loss */
        loss += on ? (double)m : 0.0;
        count += on ? (REAL)1 : (REAL)0;
        s[j] = on ? ar : (REAL)0;
    }
    s[y] = -count * ar;
    return loss;
}

/* The softmax cross-entropy node on one row, in place, as linclf.losses._cross_entropy:
 * r = sum_{j != k} e^{s_j - m}, L = log1p(r) - (s_y - m), dS = a (p - [j = y]). */
INLINE double F(softmax_row)(REAL *s, int64_t c, int64_t y, double a) {
    int64_t top = 0;
    for (int64_t j = 1; j < c; j++)
        if (s[j] > s[top]) top = j;
    REAL peak = s[top];
    double correct = (double)s[y] - (double)peak, rest = 0.0;
    for (int64_t j = 0; j < c; j++) {
        s[j] = (REAL)exp((double)(s[j] - peak));
        if (j != top) rest += (double)s[j];
    }
    double e_correct = (double)s[y], scale = a / (1.0 + rest);
    REAL scale_r = (REAL)scale;
    for (int64_t j = 0; j < c; j++) s[j] *= scale_r;
    s[top] = scale_r;
    s[y] = (REAL)(-scale * (rest + (1.0 - e_correct)));
    return log1p(rest) - correct;
}

/* dWt[j, :] += sum_i dS[i, j] X_i over the block's rows, for nc <= BCT classes from j0:
 * two vectors of columns at a time, so 2 nc sums are in flight (an FMA's latency). dWt's
 * rows are laid out as X's (job->xh elements past a vector boundary, stride job->ldp), so
 * the vectors run over [-xh, end) of each row, aligned: the lanes before column 0 and from
 * column d on hold other numbers (other rows', or bytes next to X in its vector) and go
 * to dWt's padding, which nothing reads. Lanes are independent: the same bits as with an
 * aligned X. */
INLINE void F(backward_tile)(const job_t *job, int64_t lo, int64_t hi, const REAL *dS,
                             int64_t j0, const int nc, REAL *dWt, int skip,
                             const prefetch_t *pf, int first) {
    int64_t h = job->xh, c = job->c, ldp = job->ldp;
    const REAL *X = (const REAL *)job->X - h, *ahead = (const REAL *)pf->X - h;
    /* Vectors past a row's end only where X's rows are placed on vector boundaries (then a
     * vector never leaves the aligned block of a row's last element, nor its page); else
     * whole vectors up to d - d % VL and the last columns one by one. */
    int placed = (uintptr_t)X % VBYTES == 0 && (job->ldx * (int64_t)sizeof(REAL)) % VBYTES == 0;
    int64_t end = placed ? (job->d + h + VL - 1) / VL * VL : job->d - job->d % VL;
    REAL *out = dWt + j0 * ldp;
    for (int64_t k = 0; k < end; k += 2 * VL) {
        const int two = k + 2 * VL <= end; /* else one vector: the row's last */
        VEC acc[2][BCT];
        for (int q = 0; q < nc; q++) { /* the part's first block writes, the others add */
            acc[0][q] = first ? (VEC){0} : F(vload)(out + q * ldp + k);
            acc[1][q] = first || !two ? (VEC){0} : F(vload)(out + q * ldp + k + VL);
        }
        for (int64_t i = lo; i < hi; i++) {
            const REAL *x = X + i * job->ldx + k, *g = dS + (i - lo) * c + j0;
            if ((i - lo) % RT >= skip && i - lo < pf->rows) { /* the next block's columns */
                __builtin_prefetch(ahead + (i - lo) * pf->ld + k, 0, 2);
                if (two) __builtin_prefetch(ahead + (i - lo) * pf->ld + k + VL, 0, 2);
            }
            VEC x0 = F(vload)(x), x1 = two ? F(vload)(x + VL) : (VEC){0};
            for (int q = 0; q < nc; q++) {
                acc[0][q] += g[q] * x0;
                acc[1][q] += g[q] * x1;
            }
        }
        for (int q = 0; q < nc; q++) {
            F(vstore)(out + q * ldp + k, acc[0][q]);
            if (two) F(vstore)(out + q * ldp + k + VL, acc[1][q]);
        }
    }
    for (int64_t k = end; k < job->d; k++) /* not placed (h = 0): the columns past end */
        for (int q = 0; q < nc; q++) {
            REAL s = first ? (REAL)0 : out[q * ldp + k];
            for (int64_t i = lo; i < hi; i++) s += dS[(i - lo) * c + j0 + q] * X[i * job->ldx + k];
            out[q * ldp + k] = s;
        }
}

/* The classes in tiles of at most BCT, as even as they come (10 classes: one tile with
 * AVX-512, 5 + 5 else). The first tile also prefetches the rows of *next that the scores
 * did not (the rows of each row tile from `skip` on). */
static void F(block_backward)(const job_t *job, int64_t lo, int64_t hi, const REAL *dS,
                              REAL *dWt, int skip, const prefetch_t *next, int first) {
    int64_t tiles = (job->c + BCT - 1) / BCT;
    const prefetch_t none = {NULL, 0, 0};
    for (int64_t t = 0; t < tiles; t++) {
        int64_t j = job->c * t / tiles;
        const prefetch_t *pf = t == 0 ? next : &none;
        int nc = (int)(job->c * (t + 1) / tiles - j);
        switch (nc) {
#if BCT >= 10
            case 10: F(backward_tile)(job, lo, hi, dS, j, 10, dWt, skip, pf, first); break;
            case 9: F(backward_tile)(job, lo, hi, dS, j, 9, dWt, skip, pf, first); break;
            case 8: F(backward_tile)(job, lo, hi, dS, j, 8, dWt, skip, pf, first); break;
            case 7: F(backward_tile)(job, lo, hi, dS, j, 7, dWt, skip, pf, first); break;
#endif
            case 6: F(backward_tile)(job, lo, hi, dS, j, 6, dWt, skip, pf, first); break;
            case 5: F(backward_tile)(job, lo, hi, dS, j, 5, dWt, skip, pf, first); break;
            case 4: F(backward_tile)(job, lo, hi, dS, j, 4, dWt, skip, pf, first); break;
            case 3: F(backward_tile)(job, lo, hi, dS, j, 3, dWt, skip, pf, first); break;
            case 2: F(backward_tile)(job, lo, hi, dS, j, 2, dWt, skip, pf, first); break;
            default: F(backward_tile)(job, lo, hi, dS, j, 1, dWt, skip, pf, first); break;
        }
    }
}

/* The scratch of a part: its partial dW (part >= 1), its block of dS, its db sums. */
static void F(part_scratch)(job_t *job, int part, int nt, REAL **dWt, REAL **dS, double **db) {
    int64_t partial = partial_bytes(job->c, job->d, sizeof(REAL));
    char *base = (char *)job->scratch; /* the partials, after the copy of W */
    char *own = base + (int64_t)nt * partial;
    int64_t per = job->block_rows * job->c * (int64_t)sizeof(REAL) +
                  job->c * (int64_t)sizeof(double) + 64;
    own = align64(own + part * per);
    *dS = (REAL *)own;
    *db = (double *)(own + job->block_rows * job->c * (int64_t)sizeof(REAL));
    *dWt = (REAL *)(base + (int64_t)part * partial);
}

/* *pf = the first block of part `part` of the call after this one, whose batch the
 * caller named (job->then: nothing if it named none or the call has other parts). */
static void F(first_block_of)(const job_t *job, int part, int nt, prefetch_t *pf) {
    const prefetch_t *then = &job->then;
    pf->rows = 0;
    if (then->X == NULL || parts_for(then->rows, job->threads) != nt) return;
    int64_t lo, hi;
    part_rows(then->rows, part, nt, &lo, &hi);
    pf->X = (const REAL *)then->X + lo * then->ld;
    pf->ld = then->ld;
    pf->rows = hi - lo < job->block_rows ? hi - lo : job->block_rows;
}

static void F(task_loss_grad)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    REAL *dWt, *dS;
    double *db, loss = 0.0;
    F(part_scratch)(job, part, nt, &dWt, &dS, &db);
    for (int64_t j = 0; j < job->c; j++) db[j] = 0.0;
    int64_t lo, hi;
    part_rows(job->n, part, nt, &lo, &hi);
    if (lo >= hi) memset(dWt, 0, (size_t)(job->c * job->ldp) * sizeof(REAL)); /* no rows */
    int64_t tiles = (job->c + CT - 1) / CT; /* the scores prefetch the next block's rows */
    int prefetched = tiles < RT / 2 ? (int)tiles : RT / 2; /* 0.. of each row tile */
    for (int64_t start = lo; start < hi; start += job->block_rows) {
        int64_t stop = start + job->block_rows < hi ? start + job->block_rows : hi;
        prefetch_t next = {(const REAL *)job->X + stop * job->ldx, job->ldx, 0};
        if (stop < hi) /* the part's next block */
            next.rows = stop + job->block_rows < hi ? job->block_rows : hi - stop;
        else /* the last: the first block of this part in the call after (job->then) */
            F(first_block_of)(job, part, nt, &next);
        F(block_scores)(job, start, stop, dS, job->c, &next);
        for (int64_t i = start; i < stop; i++) {
            REAL *s = dS + (i - start) * job->c;
            double a = F(share)(job, i);
            if (job->loss == 0)
                loss += a * F(hinge_row)(s, job->c, job->y[i], (REAL)job->delta, a);
            else
                loss += a * F(softmax_row)(s, job->c, job->y[i], a);
            for (int64_t j = 0; j < job->c; j++) db[j] += (double)s[j];
        }
        F(block_backward)(job, start, stop, dS, dWt, prefetched, &next, start == lo);
    }
    job->loss_part[part] = loss;
}

/* One SGD step in place on entries [lo, hi), the operations of linclf.optim._sgd_update
 * in its order and its type, none fused into an FMA, so the bits are NumPy's: plain (v
 * NULL) p -= lr g; heavy ball v = mu v + g, p -= lr v; Nesterov p -= lr (g + mu v). Entry
 * by entry, so how the entries are sliced between threads changes no bit. */
NO_CONTRACT_ATTR static void F(sgd_range)(REAL *p, const REAL *g, REAL *v, int64_t lo,
                                          int64_t hi, double lr, double mu, int nesterov) {
    NO_CONTRACT
    REAL rate = (REAL)lr, momentum = (REAL)mu;
    for (int64_t k = lo; k < hi; k++) {
        REAL step;
        if (v == NULL) {
            step = g[k] * rate;
        } else {
            REAL velocity = v[k] * momentum;
            velocity = velocity + g[k];
            v[k] = velocity;
            step = nesterov ? (velocity * momentum + g[k]) * rate : velocity * rate;
        }
        p[k] = p[k] - step;
    }
}

typedef REAL F(rvec8) __attribute__((vector_size(8 * sizeof(REAL))));

/* sum W[k]^2 over [lo, hi) in double, 8 lanes at a time (each lane a fixed subsequence). */
INLINE double F(sum_squares)(const REAL *W, int64_t lo, int64_t hi) {
    dvec8 acc = {0};
    double tail = 0.0;
    int64_t k = lo;
    for (; k + 8 <= hi; k += 8) {
        F(rvec8) w8;
        memcpy(&w8, W + k, sizeof w8);
        dvec8 x = __builtin_convertvector(w8, dvec8);
        acc += x * x;
    }
    for (; k < hi; k++) tail += (double)W[k] * (double)W[k];
    double total = 0.0;
    for (int q = 0; q < 8; q++) total += acc[q];
    return total + tail;
}

/* dW = partial_0 + partial_1 + ... (part order) + 2 reg W, on this part's slice of dW (the
 * partials' rows laid out as X's: see backward_tile);
 * wsq_part[part] = its slice of sum W^2 in double; then the optimizer's step, if any. In
 * chunks of REDUCE_CHUNK entries, each pass over a chunk while it is in L1. */
static void F(task_reduce)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    int64_t cd = job->c * job->d, lo = cd * part / nt, hi = cd * (part + 1) / nt;
    int64_t stride = partial_bytes(job->c, job->d, sizeof(REAL));
    REAL *dW = (REAL *)job->dW, *W = (REAL *)job->W, twice = (REAL)(2.0 * job->reg);
    const char *parts = (const char *)job->scratch;
    const sgd_job_t *step = job->step;
    double wsq = 0.0;
    for (int64_t c0 = lo; c0 < hi; c0 += REDUCE_CHUNK) {
        int64_t c1 = c0 + REDUCE_CHUNK < hi ? c0 + REDUCE_CHUNK : hi;
        for (int t = 0; t < job->parts; t++) { /* dW[j d + k] from partial[j ldp + xh + k] */
            const REAL *partial = (const REAL *)(parts + t * stride) + job->xh;
            for (int64_t f = c0; f < c1;) {
                int64_t j = f / job->d, k = f - j * job->d;
                int64_t run = job->d - k < c1 - f ? job->d - k : c1 - f;
                const REAL *from = partial + j * job->ldp + k;
                if (t == 0)
                    memcpy(dW + f, from, (size_t)run * sizeof(REAL));
                else
                    for (int64_t q = 0; q < run; q++) dW[f + q] += from[q];
                f += run;
            }
        }
        if (job->reg > 0.0) {
            for (int64_t k = c0; k < c1; k++) dW[k] += W[k] * twice;
            wsq += F(sum_squares)(W, c0, c1);
        }
        if (step != NULL) { /* the step on this chunk, while dW and W are in cache */
            if (step->keep != NULL) /* W before it, for the caller's rollback */
                memcpy((REAL *)step->keep + c0, W + c0, (size_t)(c1 - c0) * sizeof(REAL));
            F(sgd_range)(W, dW, (REAL *)step->v, c0, c1, step->lr, step->mu, step->nesterov);
        }
    }
    job->wsq_part[part] = wsq;
}

static void F(task_scores)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    int64_t lo, hi;
    part_rows(job->n, part, nt, &lo, &hi);
    REAL *S = (REAL *)job->S;
    for (int64_t start = lo; start < hi; start += job->block_rows) {
        int64_t stop = start + job->block_rows < hi ? start + job->block_rows : hi;
        const prefetch_t none = {NULL, 0, 0};
        F(block_scores)(job, start, stop, S + start * job->c, job->c, &none);
    }
}

/* The weights the scores read: W itself if its rows start where X's do relative to a
 * vector boundary (job->xh elements past one), else a copy laid out so, at the start of
 * the scratch (a vector load across two cache lines costs two: measured 5-15% of the
 * call), unless the batch has fewer than COPY_ROWS rows (the copy then costs more than it
 * saves: B = 64, 2 threads, 67-70 us in place against 74-79 us). job->scratch is set to
 * what follows. */
static void F(aligned_weights)(job_t *job, char *area) {
    int64_t ldw = aligned_row(job->d + VL, sizeof(REAL)), h = job->xh;
    uintptr_t at = (uintptr_t)job->W % VBYTES;
    int placed = at == (uintptr_t)h * sizeof(REAL) && (job->d * (int64_t)sizeof(REAL)) % VBYTES == 0;
    if (placed || job->n < COPY_ROWS) { /* in place (a small batch: loads across lines) */
        job->Ws = job->W;
        job->ldw = job->d;
    } else {
        REAL *rows = (REAL *)area + h; /* row j at rows + j ldw: h elements past a vector */
        for (int64_t j = 0; j < job->c; j++)
            memcpy(rows + j * ldw, (const REAL *)job->W + j * job->d,
                   (size_t)job->d * sizeof(REAL));
        job->Ws = rows;
        job->ldw = ldw;
    }
    job->scratch = area + job->c * ldw * (int64_t)sizeof(REAL);
}

/* How many elements past a vector boundary every row of X starts (0 if they differ). */
static int64_t F(row_offset)(const REAL *X, int64_t ldx) {
    uintptr_t off = (uintptr_t)X % VBYTES;
    if (off % sizeof(REAL) != 0 || (ldx * (int64_t)sizeof(REAL)) % VBYTES != 0) return 0;
    return (int64_t)(off / sizeof(REAL));
}

/* loss and (dW, db) of the batch: the fused pass, then the reduction. Returns 0; 1 for a
 * label outside [0, c) and 2 for a weight not >= 0 (NaN included), before reading any
 * row: the caller then has the NumPy path say what is wrong. */
EXPORT int F(linclf_loss_grad)(const REAL *X, int64_t ldx, int64_t n, int64_t d,
                               const int64_t *y, const double *w, const REAL *W,
                               const REAL *b, int64_t c, int loss_kind, double delta,
                               double reg, REAL *dW, REAL *db, void *scratch, int nt,
                               double *out_loss, const sgd_job_t *step, REAL *vb,
                               const REAL *then_X, int64_t then_ldx, int64_t then_n) {
    double wtotal = 0.0;
    for (int64_t i = 0; i < n; i++)
        if ((uint64_t)y[i] >= (uint64_t)c) return 1;
    if (w != NULL)
        for (int64_t i = 0; i < n; i++) {
            if (!(w[i] >= 0.0)) return 2;
            wtotal += w[i];
        }
    job_t job = {.X = X, .ldx = ldx, .n = n, .d = d, .c = c, .y = y, .w = w, .wtotal = wtotal,
                 .W = W, .b = b, .loss = loss_kind, .delta = delta, .reg = reg, .dW = dW,
                 .db = db, .block_rows = block_rows_for(d, sizeof(REAL)), .ldp = partial_ld(d, sizeof(REAL)),
                 .then = {then_X, then_ldx, then_X ? then_n : 0}, .xh = F(row_offset)(X, ldx)};
    F(aligned_weights)(&job, align64(scratch));
    nt = clamp_threads(nt);
    job.threads = nt;
    int np = parts_for(n, nt);
    pool_run(F(task_loss_grad), &job, np, nt);
    double loss = 0.0;
    for (int t = 0; t < np; t++) loss += job.loss_part[t];
    if (b != NULL) {
        for (int64_t j = 0; j < c; j++) {
            double s = 0.0;
            for (int t = 0; t < np; t++) {
                REAL *dWt, *dS;
                double *dbt;
                F(part_scratch)(&job, t, np, &dWt, &dS, &dbt);
                s += dbt[j];
            }
            db[j] = (REAL)s;
        }
    }
    /* The reduction, in nt slices: its cost grows with C D, not with the batch. With a
     * step (lr, mu, nesterov, W's velocity), it then updates W on each slice, and b here,
     * first copying them to step->keep and keep_b if given: step->p is unused, W and b
     * are updated where they are. */
    job.parts = np;
    job.step = step;
    pool_run(F(task_reduce), &job, nt, nt);
    double wsq = 0.0;
    for (int t = 0; t < nt; t++) wsq += job.wsq_part[t];
    *out_loss = loss + reg * wsq;
    if (step != NULL && b != NULL) {
        if (step->keep_b != NULL) memcpy(step->keep_b, b, (size_t)c * sizeof(REAL));
        F(sgd_range)((REAL *)b, db, vb, 0, c, step->lr, step->mu, step->nesterov);
    }
    return 0;
}

/* n_steps SGD steps on batches of X, each as linclf_loss_grad with a step (the same bits):
 * step i on rows [starts[i], starts[i] + counts[i]) with learning rate lrs[i] on threads[i]
 * threads, prefetching the batch of step i + 1 (entry n_steps: the batch after the run,
 * count 0 for none). Step i first copies W and b to keep[i % 2] and keep_b[i % 2] (the
 * caller's rollback); a loss that is not finite or is above limit puts them back from there
 * and ends the run. losses[i]: step i's loss. Returns 0 (all taken), 1 or 2 (step *done
 * refused its labels or weights, nothing done in it) or 3 (step *done diverged); *done:
 * the steps taken before that. */
EXPORT int F(linclf_sgd_steps)(const REAL *X, int64_t ldx, int64_t d, const int64_t *y,
                               const double *w, REAL *W, REAL *b, int64_t c, int loss_kind,
                               double delta, double reg, REAL *dW, REAL *db, void *scratch,
                               REAL *vW, REAL *vb, double mu, int nesterov, int64_t n_steps,
                               const int64_t *starts, const int64_t *counts,
                               const int64_t *threads, const double *lrs, REAL *const *keep,
                               REAL *const *keep_b, double limit, double *losses,
                               int64_t *done) {
    for (int64_t i = 0; i < n_steps; i++) {
        REAL *kept = keep[i % 2], *kept_b = b != NULL ? keep_b[i % 2] : NULL;
        sgd_job_t step = {.v = vW, .n = c * d, .lr = lrs[i], .mu = mu, .nesterov = nesterov,
                          .keep = kept, .keep_b = kept_b};
        const REAL *then = counts[i + 1] > 0 ? X + starts[i + 1] * ldx : NULL;
        int code = F(linclf_loss_grad)(X + starts[i] * ldx, ldx, counts[i], d, y + starts[i],
                                       w != NULL ? w + starts[i] : NULL, W, b, c, loss_kind,
                                       delta, reg, dW, db, scratch, (int)threads[i],
                                       &losses[i], &step, vb, then, ldx, counts[i + 1]);
        if (code == 0 && !(isfinite(losses[i]) && losses[i] <= limit)) {
            memcpy(W, kept, (size_t)(c * d) * sizeof(REAL)); /* the step is undone */
            if (b != NULL) memcpy(b, kept_b, (size_t)c * sizeof(REAL));
            code = 3;
        }
        if (code != 0) {
            *done = i;
            return code;
        }
    }
    *done = n_steps;
    return 0;
}

/* S = X W^T + b (n, c), rows split between nt threads. Returns 0. */
EXPORT int F(linclf_scores)(const REAL *X, int64_t ldx, int64_t n, int64_t d, const REAL *W,
                            const REAL *b, int64_t c, REAL *S, int nt) {
    job_t job = {.X = X, .ldx = ldx, .n = n, .d = d, .c = c, .W = W, .Ws = W, .ldw = d,
                 .b = b, .loss = -1, .S = S, .block_rows = block_rows_for(d, sizeof(REAL)),
                 .xh = F(row_offset)(X, ldx)};
    nt = clamp_threads(nt);
    pool_run(F(task_scores), &job, parts_for(n, nt), nt);
    return 0;
}

static void F(task_sgd)(void *arg, int part, int nparts) {
    const sgd_job_t *job = (const sgd_job_t *)arg;
    int64_t lo = job->n * part / nparts, hi = job->n * (part + 1) / nparts;
    F(sgd_range)((REAL *)job->p, (const REAL *)job->g, (REAL *)job->v, lo, hi, job->lr,
                 job->mu, job->nesterov);
}

EXPORT void F(linclf_sgd_update)(REAL *p, const REAL *g, REAL *v, int64_t n, double lr,
                                 double mu, int nesterov, int nt) {
    sgd_job_t job = {.p = p, .g = g, .v = v, .n = n, .lr = lr, .mu = mu, .nesterov = nesterov};
    nt = clamp_threads(nt);
    int parts = n / SGD_SLICE < nt ? (int)(n / SGD_SLICE) : nt; /* slices worth a thread */
    parts = parts < 1 ? 1 : parts;
    pool_run(F(task_sgd), &job, parts, parts);
}

#undef NAME3
#undef NAME2
#undef F
#undef VL
#undef INLINE
