/* Optimizer state from Keras files (keras_optstate.h). Each version names the slots its own way:
 *   1. Keras 3, legacy HDF5: optimizer_weights/<opt>/<variable path with '_' for '/'>_<slot>
 *      with Keras 3's slot names (nnc's), and <opt>/iteration;
 *   2. Keras 2 (tf.keras), legacy HDF5: <Opt>/<variable path>/<slot>:0 with Keras 2's slot names
 *      (Adam m, v, vhat; RMSprop rms, momentum, mg; Adadelta accum_grad, accum_var ...) and
 *      <Opt>/iter:0;
 *   3. Keras 2.3 (standalone), legacy HDF5: m_<i>:0, v_<i>:0, vhat_<i>:0 numbered over the
 *      trainable variables in model order, and <Opt>/iterations:0;
 *   4. v3 (.keras): optimizer/vars/<i>, unnamed: the iteration count (int64), then in Keras 3
 *      the learning rate (a float scalar), then the slots, per variable (m0, v0, m1, v1 ...) or
 *      per slot (m0, m1, ..., v0, v1, ...) as the version built them. The layout is the one
 *      whose shapes fit nnc's variables; when the shapes cannot tell them apart, or nothing
 *      fits, the state is dropped with a note.
 * Out of scope: optimizers whose state holds more than nnc's slots (Nadam's u_product is
 * recomputed from the iteration count, so it is skipped by its name or count). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "keras_optstate.h"
#include "../format/message.h"
#include "../format/strmap.h"
#include "../optim/optim.h"
#include "../train/train_state.h"

typedef struct {
    nnc_model *m;
    const nnc_kw_file *f;
    int T, S;            /* trainable variables, slots */
    int *param;          /* [T] the parameter of each trainable variable */
    char (*src)[512];    /* [T*S] the dataset of slot s of variable t, from the file's root */
    char iter[512];      /* the iteration count's dataset */
} ostate;

/* Keras 2's name of nnc's slot s (Keras 3's name) for this optimizer. */
static const char *keras2_slot(const nnc_optimizer *o, const char *slot) {
    if (o->kind == NNC_OPT_RMSPROP)
        return !strcmp(slot, "velocity") ? "rms" : !strcmp(slot, "average_gradient") ? "mg" : slot;
    if (o->kind == NNC_OPT_ADADELTA) return !strcmp(slot, "accumulated_grad") ? "accum_grad" : "accum_var";
    if (o->kind == NNC_OPT_ADAMAX) return !strcmp(slot, "momentum") ? "m" : "v";
    if (o->kind == NNC_OPT_SGD || o->kind == NNC_OPT_ADAGRAD) return slot;
    return !strcmp(slot, "momentum") ? "m" : !strcmp(slot, "velocity") ? "v" : "vhat";
}

/* A name without its ":0" and, for the second key, without its first component (the
 * optimizer's name). */
static void keys_of(const char *w, char *full, char *rest, size_t n) {
    snprintf(full, n, "%.*s", (int)strcspn(w, ":"), w);
    const char *slash = strchr(full, '/');
    snprintf(rest, n, "%s", slash ? slash + 1 : full);
}

/* Legacy files: every slot and the count found by name in optimizer_weights. */
static int map_legacy(ostate *o, const char (*var)[300], char *why, size_t n) {
    hid_t g = nnc_h5_exists(o->f->file, "optimizer_weights") ? H5Gopen2(o->f->file, "optimizer_weights", H5P_DEFAULT) : -1;
    char **w = NULL, full[600], rest[600], key[700];
    int nw = g >= 0 ? nnc_h5_attr_strings(g, "weight_names", &w, why, n) : 0, rc = 0;
    if (g >= 0) H5Gclose(g);
    if (nw <= 0) return nw < 0 ? -1 : 1;
    nnc_strmap map = {0};
    for (int i = 0; i < nw && !rc; i++) {
        keys_of(w[i], full, rest, sizeof full);
        rc = nnc_strmap_put(&map, full, i) || nnc_strmap_put(&map, rest, i);
    }
    const nnc_optimizer *opt = &o->m->train->copts.optimizer;
    for (int t = 0; t < o->T && !rc; t++)
        for (int s = 0; s < o->S && !rc; s++) {
            const char *slot = nnc_optimizer_slot_name(opt, s);
            const char *vp = var[o->param[t]];
            const int *hit = NULL;
            snprintf(key, sizeof key, "%s_%s", vp, slot); /* Keras 3: '/' as '_' */
            for (char *c = key; *c; c++) *c = *c == '/' ? '_' : *c;
            hit = nnc_strmap_get(&map, key);
            snprintf(key, sizeof key, "%s/%s", vp, keras2_slot(opt, slot));
            if (!hit) hit = nnc_strmap_get(&map, key);
            snprintf(key, sizeof key, "%s_%d", keras2_slot(opt, slot), t); /* Keras 2.3: m_0 */
            if (!hit) hit = nnc_strmap_get(&map, key);
            if (!hit) rc = nnc_msg(why, n, "it has no %s for '%s'", slot, o->m->params[o->param[t]].name);
            else snprintf(o->src[t * o->S + s], 512, "optimizer_weights/%s", w[*hit]);
        }
    const char *counts[3] = {"iteration", "iterations", "iter"};
    const int *it = NULL;
    for (int i = 0; i < 3 && !it; i++) it = nnc_strmap_get(&map, counts[i]);
    if (!rc && !it) rc = nnc_msg(why, n, "it has no iteration count");
    if (!rc) snprintf(o->iter, sizeof o->iter, "optimizer_weights/%s", w[*it]);
    nnc_strmap_free(&map);
    nnc_h5_free_strings(w, nw);
    return rc;
}

void nnc_keras_slot_order(const nnc_optimizer *o, int T, int S, int *index) {
    for (int t = 0; t < T; t++)
        for (int s = 0; s < S; s++) {
            int i = t * S + s; /* add_optimizer_variables with several names: per variable */
            if (o->kind == NNC_OPT_RMSPROP) i = s * T + t;
            else if ((o->kind == NNC_OPT_ADAM || o->kind == NNC_OPT_ADAMW) && S == 3) i = s < 2 ? t * 2 + s : 2 * T + t;
            index[t * S + s] = i;
        }
}

/* True when the variables at head + index[...] have the shapes of nnc's slots. */
static int layout_fits(ostate *o, int head, const int *index, char *why, size_t n) {
    nnc_h5_dataset_info info;
    char ds[64];
    for (int t = 0; t < o->T; t++)
        for (int s = 0; s < o->S; s++) {
            const nnc_param_rec *p = &o->m->params[o->param[t]];
            snprintf(ds, sizeof ds, "optimizer/vars/%d", head + index[t * o->S + s]);
            if (nnc_h5_dataset_info_of(o->f->file, ds, &info, why, n) || !info.is_float32 || info.rank != p->shape.rank)
                return 0;
            for (int d = 0; d < info.rank; d++)
                if (info.dims[d] != (hsize_t)p->shape.dim[d]) return 0;
        }
    return 1;
}

/* v3 files: which unnamed variable is which: Keras 3's layout for this optimizer when the
 * shapes fit it, else the one other layout (per variable, per slot) that they fit. */
static int map_v3(ostate *o, char *why, size_t n) {
    const char *vars = "optimizer/vars";
    H5G_info_t gi;
    hid_t g = nnc_h5_exists(o->f->file, "optimizer") && nnc_h5_exists(o->f->file, vars)
                  ? H5Gopen2(o->f->file, vars, H5P_DEFAULT) : -1;
    int ok = g >= 0 && H5Gget_info(g, &gi) >= 0;
    if (g >= 0) H5Gclose(g);
    if (!ok || gi.nlinks == 0) return 1;
    const nnc_optimizer *opt = &o->m->train->copts.optimizer;
    int total = (int)gi.nlinks, head = 1, tail = opt->kind == NNC_OPT_NADAM; /* Keras 3's u_product */
    nnc_h5_dataset_info info;
    if (nnc_h5_dataset_info_of(o->f->file, "optimizer/vars/0", &info, why, n) || !info.is_integer || info.rank)
        return nnc_msg(why, n, "its first variable is not an iteration count");
    snprintf(o->iter, sizeof o->iter, "optimizer/vars/0");
    if (total > 1 && !nnc_h5_dataset_info_of(o->f->file, "optimizer/vars/1", &info, why, n) && info.rank == 0 &&
        info.is_float32)
        head = 2; /* Keras 3's learning rate */
    if (total - head != o->T * o->S && !(tail && total - head == o->T * o->S + 1))
        return nnc_msg(why, n, "it holds %d variables, nnc's %s keeps %d (%d trainable variables x %d slots)",
                       total - head, nnc_optimizer_name(opt->kind), o->T * o->S, o->T, o->S);
    int *index = malloc(((size_t)o->T * (size_t)o->S + 1) * sizeof *index), found = 0;
    if (!index) return nnc_msg(why, n, "out of memory");
    nnc_keras_slot_order(opt, o->T, o->S, index);
    if (!(found = layout_fits(o, head, index, why, n))) {
        int fits[2];
        for (int layout = 0; layout < 2; layout++) {
            for (int t = 0; t < o->T; t++)
                for (int s = 0; s < o->S; s++) index[t * o->S + s] = layout ? s * o->T + t : t * o->S + s;
            fits[layout] = layout_fits(o, head, index, why, n);
        }
        found = fits[0] != fits[1] || (fits[0] && (o->T < 2 || o->S < 2)); /* one, or both the same */
        for (int t = 0; found && t < o->T; t++)
            for (int s = 0; s < o->S; s++) index[t * o->S + s] = fits[0] ? t * o->S + s : s * o->T + t;
        if (!found) nnc_msg(why, n, fits[0] ? "its variables' shapes cannot tell which slot each is"
                                             : "its variables' shapes fit no layout of nnc's slots");
    }
    for (int i = 0; found && i < o->T * o->S; i++) snprintf(o->src[i], 512, "optimizer/vars/%d", head + index[i]);
    free(index);
    return found ? 0 : -1;
}

/* Reads the mapped slots into a copy, checks them, then sets the model's. */
static int load_slots(ostate *o, char *why, size_t n) {
    nnc_model *m = o->m;
    size_t tf = m->n_trainable_floats;
    float *stage = malloc((tf * (size_t)o->S + 1) * sizeof *stage);
    int64_t iters = 0;
    int rc = stage ? 0 : nnc_msg(why, n, "out of memory");
    nnc_h5_dataset_info info;
    if (!rc && (nnc_h5_dataset_info_of(o->f->file, o->iter, &info, why, n) || info.rank != 0 || !info.is_integer ||
                nnc_h5_read_int64(o->f->file, o->iter, &iters, why, n) || iters < 0))
        rc = rc ? rc : nnc_msg(why, n, "its iteration count is not a count");
    for (int t = 0; !rc && t < o->T; t++)
        for (int s = 0; !rc && s < o->S; s++) {
            const nnc_param_rec *p = &m->params[o->param[t]];
            const char *ds = o->src[t * o->S + s];
            float *at = stage + (size_t)s * tf + p->offset;
            int same = !nnc_h5_dataset_info_of(o->f->file, ds, &info, why, n) && info.is_float32 &&
                       info.rank == p->shape.rank;
            for (int d = 0; same && d < info.rank; d++) same = info.dims[d] == (hsize_t)p->shape.dim[d];
            if (!same) rc = nnc_msg(why, n, "'%s' does not have the shape of '%s'", ds, p->name);
            else if (nnc_h5_read_floats(o->f->file, ds, at, p->size, why, n)) rc = -1;
            for (size_t i = 0; !rc && i < p->size; i++)
                if (!isfinite(at[i])) rc = nnc_msg(why, n, "'%s' holds a NaN or an infinity", ds);
        }
    if (!rc) {
        memcpy(m->train->opt_slots, stage, tf * (size_t)o->S * sizeof *stage);
        m->train->iterations = iters;
    }
    free(stage);
    return rc;
}

void nnc_kw_read_optimizer(nnc_model *m, const nnc_kw_file *f, const char (*var)[300]) {
    ostate o;
    memset(&o, 0, sizeof o);
    o.m = m;
    o.f = f;
    o.S = m->train->n_slots;
    for (int p = 0; p < m->n_params; p++) o.T += m->params[p].trainable;
    o.param = malloc(((size_t)o.T + 1) * sizeof *o.param);
    o.src = calloc((size_t)o.T * (size_t)o.S + 1, sizeof *o.src);
    char why[700] = "";
    int rc = o.param && o.src ? 0 : nnc_msg(why, sizeof why, "out of memory");
    for (int p = 0, t = 0; !rc && p < m->n_params; p++)
        if (m->params[p].trainable) o.param[t++] = p;
    if (!rc) rc = f->layout == NNC_KW_LEGACY ? map_legacy(&o, var, why, sizeof why) : map_v3(&o, why, sizeof why);
    if (rc == 0) rc = load_slots(&o, why, sizeof why);
    if (rc < 0)
        nnc_note(m, "the file's optimizer state is dropped (%s): training starts the optimizer afresh", why);
    free(o.param);
    free(o.src);
}
