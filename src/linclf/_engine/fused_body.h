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

INLINE REAL F(hsum)(VEC v) {
    REAL s = 0;
    for (int k = 0; k < VL; k++) s += v[k];
    return s;
}

/* out[r][j] = x_r . w_j for RT rows and nc <= CT classes (a register tile). */
INLINE void F(dot_tile)(const REAL *const *x, const REAL *const *w, int64_t d, const int nc,
                        REAL out[RT][CT]) {
    VEC acc[RT][CT];
    for (int r = 0; r < RT; r++)
        for (int j = 0; j < nc; j++) acc[r][j] = (VEC){0};
    int64_t k = 0;
    for (; k + VL <= d; k += VL) {
        VEC xv[RT];
        for (int r = 0; r < RT; r++) xv[r] = F(vload)(x[r] + k);
        for (int j = 0; j < nc; j++) {
            VEC wv = F(vload)(w[j] + k);
            for (int r = 0; r < RT; r++) acc[r][j] += xv[r] * wv;
        }
    }
    for (int r = 0; r < RT; r++)
        for (int j = 0; j < nc; j++) {
            REAL s = F(hsum)(acc[r][j]);
            for (int64_t t = k; t < d; t++) s += x[r][t] * w[j][t];
            out[r][j] = s;
        }
}

/* S_block[i - lo, :] = X_i W^T + b for rows lo <= i < hi (rows padded to RT by repeating
 * the last one, whose extra results are dropped). */
static void F(block_scores)(const job_t *job, int64_t lo, int64_t hi, REAL *S, int64_t lds) {
    const REAL *X = (const REAL *)job->X, *W = (const REAL *)job->W;
    const REAL *b = (const REAL *)job->b;
    int64_t d = job->d, c = job->c;
    for (int64_t i = lo; i < hi; i += RT) {
        const REAL *x[RT];
        for (int r = 0; r < RT; r++) x[r] = X + (i + r < hi ? i + r : hi - 1) * job->ldx;
        int64_t tiles = (c + CT - 1) / CT; /* class tiles as even as they come */
        for (int64_t t = 0; t < tiles; t++) {
            int64_t j = c * t / tiles;
            int nc = (int)(c * (t + 1) / tiles - j);
            const REAL *w[CT];
            for (int q = 0; q < CT; q++) w[q] = W + (j + (q < nc ? q : 0)) * d;
            REAL out[RT][CT];
            switch (nc) {
#if CT >= 5
                case 5: F(dot_tile)(x, w, d, 5, out); break;
                case 4: F(dot_tile)(x, w, d, 4, out); break;
                case 3: F(dot_tile)(x, w, d, 3, out); break;
#endif
                case 2: F(dot_tile)(x, w, d, 2, out); break;
                default: F(dot_tile)(x, w, d, 1, out); break;
            }
            for (int r = 0; r < RT && i + r < hi; r++)
                for (int q = 0; q < nc; q++)
                    S[(i + r - lo) * lds + j + q] = out[r][q] + (b ? b[j + q] : (REAL)0);
        }
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
    for (int64_t j = 0; j < c; j++) {
        REAL m = j == y ? (REAL)0 : s[j] - shifted;
        if (!(m <= 0)) { /* a NaN margin counts, so a NaN score gives a NaN loss */
            loss += (double)m;
            count += 1;
            s[j] = ar;
        } else {
            s[j] = 0;
        }
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
 * two vectors of columns at a time, so 2 nc sums are in flight (an FMA's latency). */
INLINE void F(backward_tile)(const job_t *job, int64_t lo, int64_t hi, const REAL *dS,
                             int64_t j0, const int nc, REAL *dWt, int64_t next_hi,
                             int first) {
    const REAL *X = (const REAL *)job->X;
    int64_t d = job->d, c = job->c, k = 0, ahead = hi - lo;
    for (; k + 2 * VL <= d; k += 2 * VL) {
        VEC acc[2][BCT];
        for (int q = 0; q < nc; q++) { /* the part's first block writes, the others add */
            acc[0][q] = first ? (VEC){0} : F(vload)(dWt + (j0 + q) * d + k);
            acc[1][q] = first ? (VEC){0} : F(vload)(dWt + (j0 + q) * d + k + VL);
        }
        for (int64_t i = lo; i < hi; i++) {
            const REAL *x = X + i * job->ldx + k, *g = dS + (i - lo) * c + j0;
            if (i + ahead < next_hi) { /* the next block's same columns, into the cache */
                __builtin_prefetch(x + ahead * job->ldx, 0, 2);
                __builtin_prefetch(x + ahead * job->ldx + VL, 0, 2);
            }
            VEC x0 = F(vload)(x), x1 = F(vload)(x + VL);
            for (int q = 0; q < nc; q++) {
                acc[0][q] += g[q] * x0;
                acc[1][q] += g[q] * x1;
            }
        }
        for (int q = 0; q < nc; q++) {
            F(vstore)(dWt + (j0 + q) * d + k, acc[0][q]);
            F(vstore)(dWt + (j0 + q) * d + k + VL, acc[1][q]);
        }
    }
    for (; k < d; k++)
        for (int q = 0; q < nc; q++) {
            REAL s = first ? (REAL)0 : dWt[(j0 + q) * d + k];
            for (int64_t i = lo; i < hi; i++) s += dS[(i - lo) * c + j0 + q] * X[i * job->ldx + k];
            dWt[(j0 + q) * d + k] = s;
        }
}

/* The classes in tiles of at most BCT, as even as they come (10 = 5 + 5). The first tile
 * also prefetches the rows of the next block, up to next_hi, whose scores come next: X
 * streams from memory while the block in cache is worked on. */
static void F(block_backward)(const job_t *job, int64_t lo, int64_t hi, const REAL *dS,
                              REAL *dWt, int64_t next_hi, int first) {
    int64_t tiles = (job->c + BCT - 1) / BCT;
    for (int64_t t = 0; t < tiles; t++) {
        int64_t j = job->c * t / tiles, pf = t == 0 ? next_hi : 0;
        int nc = (int)(job->c * (t + 1) / tiles - j);
        switch (nc) {
            case 6: F(backward_tile)(job, lo, hi, dS, j, 6, dWt, pf, first); break;
            case 5: F(backward_tile)(job, lo, hi, dS, j, 5, dWt, pf, first); break;
            case 4: F(backward_tile)(job, lo, hi, dS, j, 4, dWt, pf, first); break;
            case 3: F(backward_tile)(job, lo, hi, dS, j, 3, dWt, pf, first); break;
            case 2: F(backward_tile)(job, lo, hi, dS, j, 2, dWt, pf, first); break;
            default: F(backward_tile)(job, lo, hi, dS, j, 1, dWt, pf, first); break;
        }
    }
}

/* The scratch of a part: its partial dW (part >= 1), its block of dS, its db sums. */
static void F(part_scratch)(job_t *job, int part, int nt, REAL **dWt, REAL **dS, double **db) {
    int64_t cd = job->c * job->d;
    char *base = (char *)job->scratch;
    char *own = base + (int64_t)(nt - 1) * cd * (int64_t)sizeof(REAL);
    int64_t per = job->block_rows * job->c * (int64_t)sizeof(REAL) +
                  job->c * (int64_t)sizeof(double) + 64;
    own += part * per;
    own = (char *)(((uintptr_t)own + 63) & ~(uintptr_t)63);
    *dS = (REAL *)own;
    *db = (double *)(own + job->block_rows * job->c * (int64_t)sizeof(REAL));
    *dWt = part == 0 ? (REAL *)job->dW : (REAL *)base + (int64_t)(part - 1) * cd;
}

static void F(task_loss_grad)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    REAL *dWt, *dS;
    double *db, loss = 0.0;
    F(part_scratch)(job, part, nt, &dWt, &dS, &db);
    for (int64_t j = 0; j < job->c; j++) db[j] = 0.0;
    int64_t lo, hi;
    part_rows(job->n, part, nt, &lo, &hi);
    if (lo >= hi) memset(dWt, 0, (size_t)(job->c * job->d) * sizeof(REAL)); /* no rows */
    for (int64_t start = lo; start < hi; start += job->block_rows) {
        int64_t stop = start + job->block_rows < hi ? start + job->block_rows : hi;
        F(block_scores)(job, start, stop, dS, job->c);
        for (int64_t i = start; i < stop; i++) {
            REAL *s = dS + (i - start) * job->c;
            double a = F(share)(job, i);
            if (job->loss == 0)
                loss += a * F(hinge_row)(s, job->c, job->y[i], (REAL)job->delta, a);
            else
                loss += a * F(softmax_row)(s, job->c, job->y[i], a);
            for (int64_t j = 0; j < job->c; j++) db[j] += (double)s[j];
        }
        int64_t next_hi = stop + job->block_rows < hi ? stop + job->block_rows : hi;
        F(block_backward)(job, start, stop, dS, dWt, next_hi, start == lo);
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

/* dW = partial_0 + partial_1 + ... (part order) + 2 reg W, on this part's slice of dW;
 * wsq_part[part] = its slice of sum W^2 in double. Loops the compiler vectorizes. */
static void F(task_reduce)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    int64_t cd = job->c * job->d, lo = cd * part / nt, hi = cd * (part + 1) / nt;
    REAL *dW = (REAL *)job->dW;
    const REAL *W = (const REAL *)job->W, *parts = (const REAL *)job->scratch;
    for (int t = 0; t < job->parts; t++) {
        const REAL *partial = parts + t * cd;
        for (int64_t k = lo; k < hi; k++) dW[k] += partial[k];
    }
    double wsq[4] = {0.0, 0.0, 0.0, 0.0};
    if (job->reg > 0.0) {
        REAL twice = (REAL)(2.0 * job->reg);
        for (int64_t k = lo; k < hi; k++) dW[k] += W[k] * twice;
        int64_t k = lo;
        for (; k + 4 <= hi; k += 4)
            for (int q = 0; q < 4; q++) wsq[q] += (double)W[k + q] * (double)W[k + q];
        for (; k < hi; k++) wsq[0] += (double)W[k] * (double)W[k];
    }
    job->wsq_part[part] = (wsq[0] + wsq[1]) + (wsq[2] + wsq[3]);
    const sgd_job_t *step = job->step;
    if (step != NULL) /* the optimizer's step on this slice, while dW and W are in cache */
        F(sgd_range)((REAL *)job->W, dW, (REAL *)step->v, lo, hi, step->lr, step->mu,
                     step->nesterov);
}

static void F(task_scores)(void *arg, int part, int nt) {
    job_t *job = (job_t *)arg;
    int64_t lo, hi;
    part_rows(job->n, part, nt, &lo, &hi);
    REAL *S = (REAL *)job->S;
    for (int64_t start = lo; start < hi; start += job->block_rows) {
        int64_t stop = start + job->block_rows < hi ? start + job->block_rows : hi;
        F(block_scores)(job, start, stop, S + start * job->c, job->c);
    }
}

/* loss and (dW, db) of the batch: the fused pass, then the reduction. Returns 0; 1 for a
 * label outside [0, c) and 2 for a weight not >= 0 (NaN included), before reading any
 * row: the caller then has the NumPy path say what is wrong. */
EXPORT int F(linclf_loss_grad)(const REAL *X, int64_t ldx, int64_t n, int64_t d,
                               const int64_t *y, const double *w, const REAL *W,
                               const REAL *b, int64_t c, int loss_kind, double delta,
                               double reg, REAL *dW, REAL *db, void *scratch, int nt,
                               double *out_loss, const sgd_job_t *step, REAL *vb) {
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
                 .db = db, .scratch = scratch, .block_rows = block_rows_for(d, sizeof(REAL))};
    nt = clamp_threads(nt);
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
     * step (lr, mu, nesterov, W's velocity), it then updates W on each slice, and b here:
     * step->p is unused, W and b are updated where they are. */
    job.parts = np - 1;
    job.step = step;
    pool_run(F(task_reduce), &job, nt, nt);
    double wsq = 0.0;
    for (int t = 0; t < nt; t++) wsq += job.wsq_part[t];
    *out_loss = loss + reg * wsq;
    if (step != NULL && b != NULL)
        F(sgd_range)((REAL *)b, db, vb, 0, c, step->lr, step->mu, step->nesterov);
    return 0;
}

/* S = X W^T + b (n, c), rows split between nt threads. Returns 0. */
EXPORT int F(linclf_scores)(const REAL *X, int64_t ldx, int64_t n, int64_t d, const REAL *W,
                            const REAL *b, int64_t c, REAL *S, int nt) {
    job_t job = {.X = X, .ldx = ldx, .n = n, .d = d, .c = c, .W = W, .b = b, .loss = -1,
                 .S = S, .block_rows = block_rows_for(d, sizeof(REAL))};
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
