/* Optimizers, gradient clipping and learning-rate schedules (the training-controls issue):
 * every schedule's value at chosen steps against its closed form computed here (staircase,
 * cycle, warmup, restarts); spec parsing of every schedule and optimizer, and the errors (each
 * naming the line and the word); and a save → load round trip of every optimizer kind (config
 * equal, state slots restored under Keras's slot names, continued training bit-identical to
 * uninterrupted training). The update rules themselves are checked against hand-written
 * Keras formulas in tests/test_fixtures.c (opt_*.txt). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "blobs.h"
#include "train/train_impl.h"
#include "core/rng.h"
#include "format/safetensors.h"
#include "optim/optim.h"

static const double PI = 3.14159265358979323846;

/* ---- schedules ---------------------------------------------------------------------------- */

/* A schedule's value is a float computed in double: 1e-6 relative to the closed form. */
#define SCHED_ATOL 1e-12
#define SCHED_RTOL 1e-6

static void check_values(test_run *r, const nnc_schedule *s, const int64_t *steps, const double *want,
                         int n) {
    for (int i = 0; i < n; i++)
        CHECK_NEAR(r, (double)nnc_schedule_value(s, steps[i]), want[i], SCHED_ATOL, SCHED_RTOL, NULL,
                   "step %lld vs the closed form", (long long)steps[i]);
}

static nnc_schedule sched(nnc_schedule_kind k, float init, float decay_steps) {
    nnc_schedule s = nnc_schedule_default(k);
    s.initial_learning_rate = init;
    s.decay_steps = decay_steps;
    return s;
}

static void test_schedule_values(test_run *r) {
    const int64_t steps[] = {0, 1, 7, 10, 11, 25, 99, 100, 101, 250, 1000};
    enum { NS = sizeof steps / sizeof *steps };
    double want[NS];
    const double lr = (double)0.1f;

    if (t_begin(r, "schedule/exponential_decay")) {
        nnc_schedule s = sched(NNC_SCHEDULE_EXPONENTIAL_DECAY, 0.1f, 10.0f);
        s.decay_rate = 0.5f;
        for (int i = 0; i < NS; i++) want[i] = lr * pow(0.5, (double)steps[i] / 10.0);
        check_values(r, &s, steps, want, NS);
        t_end(r);
    }
    if (t_begin(r, "schedule/exponential_decay_staircase")) {
        nnc_schedule s = sched(NNC_SCHEDULE_EXPONENTIAL_DECAY, 0.1f, 10.0f);
        s.decay_rate = 0.5f;
        s.staircase = true;
        for (int i = 0; i < NS; i++) want[i] = lr * pow(0.5, (double)(steps[i] / 10));
        check_values(r, &s, steps, want, NS);
        CHECK(r, nnc_schedule_value(&s, 9) == nnc_schedule_value(&s, 0), "flat within a stair");
        CHECK(r, nnc_schedule_value(&s, 10) < nnc_schedule_value(&s, 9), "drops at the stair");
        t_end(r);
    }
    if (t_begin(r, "schedule/piecewise_constant_decay")) {
        nnc_schedule s = nnc_schedule_default(NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY);
        s.n_boundaries = 2;
        s.boundaries[0] = 10;
        s.boundaries[1] = 100;
        s.values[0] = 1.0f;
        s.values[1] = 0.5f;
        s.values[2] = 0.1f;
        /* values[0] while step <= 10, values[1] while 10 < step <= 100, then values[2] */
        for (int i = 0; i < NS; i++)
            want[i] = steps[i] <= 10 ? 1.0 : steps[i] <= 100 ? 0.5 : (double)0.1f;
        check_values(r, &s, steps, want, NS);
        t_end(r);
    }
    if (t_begin(r, "schedule/polynomial_decay")) {
        nnc_schedule s = sched(NNC_SCHEDULE_POLYNOMIAL_DECAY, 0.1f, 100.0f);
        s.end_learning_rate = 0.01f;
        s.power = 2.0f;
        const double end = (double)0.01f;
        for (int i = 0; i < NS; i++) {
            double t = steps[i] < 100 ? (double)steps[i] : 100.0;
            want[i] = (lr - end) * pow(1.0 - t / 100.0, 2.0) + end;
        }
        check_values(r, &s, steps, want, NS);
        CHECK(r, nnc_schedule_value(&s, 5000) == 0.01f, "holds end_learning_rate after decay_steps");
        nnc_schedule d = sched(NNC_SCHEDULE_POLYNOMIAL_DECAY, 0.1f, 100.0f); /* Keras's defaults */
        CHECK_NEAR(r, (double)nnc_schedule_value(&d, 50), (lr - (double)0.0001f) * 0.5 + (double)0.0001f,
                   SCHED_ATOL, SCHED_RTOL, NULL, "default end 0.0001, power 1");
        t_end(r);
    }
    if (t_begin(r, "schedule/polynomial_decay_cycle")) {
        nnc_schedule s = sched(NNC_SCHEDULE_POLYNOMIAL_DECAY, 0.1f, 100.0f);
        s.end_learning_rate = 0.01f;
        s.cycle = true;
        const double end = (double)0.01f;
        for (int i = 0; i < NS; i++) {
            /* decay over the first multiple of decay_steps at or above step (100 at step 0) */
            double d = steps[i] == 0 ? 100.0 : 100.0 * ceil((double)steps[i] / 100.0);
            want[i] = (lr - end) * (1.0 - (double)steps[i] / d) + end;
        }
        check_values(r, &s, steps, want, NS);
        CHECK(r, nnc_schedule_value(&s, 101) > nnc_schedule_value(&s, 100), "rises again after a cycle");
        t_end(r);
    }
    if (t_begin(r, "schedule/inverse_time_decay")) {
        nnc_schedule s = sched(NNC_SCHEDULE_INVERSE_TIME_DECAY, 0.1f, 10.0f);
        s.decay_rate = 0.5f;
        for (int i = 0; i < NS; i++) want[i] = lr / (1.0 + 0.5 * (double)steps[i] / 10.0);
        check_values(r, &s, steps, want, NS);
        s.staircase = true;
        for (int i = 0; i < NS; i++) want[i] = lr / (1.0 + 0.5 * (double)(steps[i] / 10));
        check_values(r, &s, steps, want, NS);
        t_end(r);
    }
    if (t_begin(r, "schedule/cosine_decay")) {
        nnc_schedule s = sched(NNC_SCHEDULE_COSINE_DECAY, 0.1f, 100.0f);
        s.alpha = 0.1f;
        const double alpha = (double)0.1f;
        for (int i = 0; i < NS; i++) {
            double t = steps[i] < 100 ? (double)steps[i] : 100.0;
            want[i] = lr * ((1.0 - alpha) * 0.5 * (1.0 + cos(PI * t / 100.0)) + alpha);
        }
        check_values(r, &s, steps, want, NS);
        CHECK_NEAR(r, (double)nnc_schedule_value(&s, 100), lr * alpha, SCHED_ATOL, SCHED_RTOL, NULL,
                   "ends at alpha · initial");
        t_end(r);
    }
    if (t_begin(r, "schedule/cosine_decay_warmup")) {
        /* from 0.01 up to 0.1 over 10 steps, then cosine from 0.1 down to 0 over 100 */
        nnc_schedule s = sched(NNC_SCHEDULE_COSINE_DECAY, 0.01f, 100.0f);
        s.warmup = true;
        s.warmup_target = 0.1f;
        s.warmup_steps = 10.0f;
        const double init = (double)0.01f, target = (double)0.1f;
        for (int i = 0; i < NS; i++) {
            double t = steps[i] < 110 ? (double)steps[i] : 110.0;
            want[i] = t < 10.0 ? init + (target - init) * t / 10.0
                               : target * 0.5 * (1.0 + cos(PI * (t - 10.0) / 100.0));
        }
        check_values(r, &s, steps, want, NS);
        CHECK(r, nnc_schedule_value(&s, 0) == 0.01f, "warmup starts at initial_learning_rate");
        CHECK(r, nnc_schedule_value(&s, 10) == 0.1f, "warmup ends at warmup_target");
        t_end(r);
    }
    if (t_begin(r, "schedule/cosine_decay_restarts")) {
        /* periods of 10, 20, 40, ... steps (t_mul 2), each peak m_mul 0.5 times the last */
        const float t_muls[] = {2.0f, 1.0f, 1.5f};
        for (int v = 0; v < 3; v++) {
            nnc_schedule s = sched(NNC_SCHEDULE_COSINE_DECAY_RESTARTS, 0.1f, 10.0f);
            s.t_mul = t_muls[v];
            s.m_mul = 0.5f;
            s.alpha = 0.05f;
            const double alpha = (double)0.05f;
            const int64_t rs[] = {0, 3, 9, 10, 12, 29, 30, 31, 69, 70, 71, 100, 149, 150, 1000};
            enum { NR = sizeof rs / sizeof *rs };
            double w[NR];
            for (int i = 0; i < NR; i++) {
                double start = 0.0, len = 10.0;
                int period = 0;
                while ((double)rs[i] >= start + len) {
                    start += len;
                    len *= (double)t_muls[v];
                    period++;
                }
                double frac = ((double)rs[i] - start) / len;
                w[i] = lr * ((1.0 - alpha) * 0.5 * pow(0.5, period) * (1.0 + cos(PI * frac)) + alpha);
            }
            check_values(r, &s, rs, w, NR);
        }
        nnc_schedule d = nnc_schedule_default(NNC_SCHEDULE_COSINE_DECAY_RESTARTS);
        CHECK(r, d.t_mul == 2.0f && d.m_mul == 1.0f && d.alpha == 0.0f, "Keras's defaults t_mul 2, m_mul 1");
        t_end(r);
    }
    if (t_begin(r, "schedule/names_and_checks")) {
        nnc_schedule_kind k;
        for (int i = 1; i < NNC_SCHEDULE_COUNT; i++) {
            CHECK(r, nnc_schedule_parse(nnc_schedule_name((nnc_schedule_kind)i), &k) == NNC_OK &&
                         (int)k == i, "%s", nnc_schedule_name((nnc_schedule_kind)i));
            CHECK(r, nnc_schedule_parse(nnc_schedule_class((nnc_schedule_kind)i), &k) == NNC_OK &&
                         (int)k == i, "%s", nnc_schedule_class((nnc_schedule_kind)i));
        }
        CHECK(r, nnc_schedule_parse("exp_decay", &k) == NNC_ERR_ARG, "unknown name accepted");
        nnc_schedule s = sched(NNC_SCHEDULE_EXPONENTIAL_DECAY, 0.1f, 0.0f);
        CHECK(r, nnc_schedule_check(&s) != NULL, "decay_steps 0 accepted");
        s = nnc_schedule_default(NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY);
        s.n_boundaries = 2;
        s.boundaries[0] = 5;
        s.boundaries[1] = 5;
        CHECK(r, nnc_schedule_check(&s) != NULL, "boundaries not increasing accepted");
        nnc_optimizer o = nnc_sgd_default();
        CHECK(r, nnc_schedule_value(&o.schedule, 5) == 0.0f && o.schedule.kind == NNC_SCHEDULE_NONE,
              "optimizers start without a schedule");
        CHECK(r, nnc_optimizer_learning_rate(&o, 1000) == 0.01f, "kind NONE: the constant rate");
        t_end(r);
    }
}

/* ---- optimizers: names, defaults, checks -------------------------------------------------- */

static void test_optimizer_basics(test_run *r) {
    if (t_begin(r, "optim/names_and_defaults")) {
        static const char *const names[][2] = {{"sgd", "SGD"},         {"adam", "Adam"},
                                               {"rmsprop", "RMSprop"}, {"adagrad", "Adagrad"},
                                               {"adadelta", "Adadelta"}, {"adamw", "AdamW"},
                                               {"nadam", "Nadam"},     {"adamax", "Adamax"}};
        for (int k = 0; k < NNC_OPT_COUNT; k++) {
            nnc_optimizer a, b;
            CHECK(r, nnc_optimizer_parse(names[k][0], &a) == NNC_OK && (int)a.kind == k, "%s", names[k][0]);
            CHECK(r, nnc_optimizer_parse(names[k][1], &b) == NNC_OK && (int)b.kind == k, "%s", names[k][1]);
            CHECK(r, !strcmp(nnc_optimizer_name((nnc_optimizer_kind)k), names[k][0]), "name of %d", k);
            CHECK(r, !strcmp(nnc_optimizer_class((nnc_optimizer_kind)k), names[k][1]), "class of %d", k);
            CHECK(r, a.learning_rate == (k == NNC_OPT_SGD ? 0.01f : 0.001f), "%s learning_rate", names[k][0]);
            CHECK(r, nnc_optimizer_check(&a) == NULL, "%s defaults rejected", names[k][0]);
        }
        nnc_optimizer o;
        CHECK(r, nnc_optimizer_parse("adamw2", &o) == NNC_ERR_ARG, "unknown name accepted");
        o = nnc_adamw_default();
        CHECK(r, o.weight_decay == 0.004f && !o.amsgrad, "AdamW weight_decay 0.004");
        o = nnc_adadelta_default();
        CHECK(r, o.rho == 0.95f && o.epsilon == 1e-7f, "Adadelta rho 0.95");
        o = nnc_adagrad_default();
        CHECK(r, o.initial_accumulator_value == 0.1f, "Adagrad initial_accumulator_value 0.1");
        o = nnc_adam_default();
        CHECK(r, o.weight_decay == 0.0f && o.clipnorm == 0.0f && o.clipvalue == 0.0f &&
                     o.global_clipnorm == 0.0f, "Adam: no weight decay, no clipping");
        t_end(r);
    }
    if (t_begin(r, "optim/slot_names")) {
        static const struct {
            nnc_optimizer_kind kind;
            int amsgrad;
            const char *slots[3];
        } want[] = {
            {NNC_OPT_ADAM, 0, {"momentum", "velocity", NULL}},
            {NNC_OPT_ADAM, 1, {"momentum", "velocity", "velocity_hat"}},
            {NNC_OPT_ADAMW, 1, {"momentum", "velocity", "velocity_hat"}},
            {NNC_OPT_ADAGRAD, 0, {"accumulator", NULL, NULL}},
            {NNC_OPT_ADADELTA, 0, {"accumulated_grad", "accumulated_delta_var", NULL}},
            {NNC_OPT_NADAM, 0, {"momentum", "velocity", NULL}},
            {NNC_OPT_ADAMAX, 0, {"momentum", "norm", NULL}},
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            nnc_optimizer o;
            nnc_optimizer_parse(nnc_optimizer_name(want[i].kind), &o);
            o.amsgrad = want[i].amsgrad;
            int n = 0;
            while (n < 3 && want[i].slots[n]) n++;
            CHECK(r, nnc_optimizer_slots(&o) == n, "%s: %d slots", nnc_optimizer_name(o.kind),
                  nnc_optimizer_slots(&o));
            for (int s = 0; s < n; s++)
                CHECK(r, !strcmp(nnc_optimizer_slot_name(&o, s), want[i].slots[s]), "%s slot %d: %s",
                      nnc_optimizer_name(o.kind), s, nnc_optimizer_slot_name(&o, s));
        }
        t_end(r);
    }
    if (t_begin(r, "optim/checks")) {
        nnc_optimizer o = nnc_sgd_default();
        o.clipnorm = 1.0f;
        o.clipvalue = 0.5f;
        const char *bad = nnc_optimizer_check(&o);
        CHECK(r, bad && strstr(bad, "only one of"), "two clippings accepted");
        o = nnc_adamw_default();
        o.weight_decay = -1.0f;
        CHECK(r, nnc_optimizer_check(&o) != NULL, "negative weight_decay accepted");
        o = nnc_adadelta_default();
        o.rho = 1.0f;
        CHECK(r, nnc_optimizer_check(&o) != NULL, "rho 1 accepted");
        o = nnc_adam_default();
        o.schedule = nnc_schedule_default(NNC_SCHEDULE_COSINE_DECAY); /* decay_steps 0 */
        CHECK(r, nnc_optimizer_check(&o) != NULL, "a schedule without decay_steps accepted");
        /* compile refuses it too, naming the optimizer */
        nnc_model *m = nnc_model_new(NULL);
        nnc_input(m, (int[]){3}, 1, NULL);
        nnc_dense_opts d = nnc_dense_opts_default(2);
        nnc_dense(m, NNC_PREV, &d);
        nnc_compile_opts c = nnc_compile_opts_default();
        c.optimizer = nnc_sgd_default();
        c.optimizer.clipvalue = 1.0f;
        c.optimizer.global_clipnorm = 1.0f;
        CHECK(r, nnc_compile(m, &c) == NNC_ERR_ARG && strstr(nnc_last_error(m), "compile: optimizer sgd: only one of"),
              "compile: %s", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/clip_helpers")) {
        float g[4] = {3.0f, -4.0f, 0.0f, 0.0f}; /* norm 5 */
        nnc_clip_by_norm(g, 4, 10.0f);
        CHECK(r, g[0] == 3.0f && g[1] == -4.0f, "a norm under the limit changed the gradient");
        nnc_clip_by_norm(g, 4, 1.0f);
        CHECK_NEAR_F32(r, g, 2, ((const float[]){0.6f, -0.8f}), 2, 1e-7, 0.0, NULL, "scaled to norm 1");
        float z[3] = {0.0f, 0.0f, 0.0f};
        nnc_clip_by_norm(z, 3, 1.0f);
        CHECK(r, z[0] == 0.0f && !isnan(z[1]), "zero gradient");
        float v[4] = {-2.0f, -0.25f, 0.25f, 2.0f};
        nnc_clip_by_value(v, 4, 0.5f);
        CHECK(r, v[0] == -0.5f && v[1] == -0.25f && v[2] == 0.25f && v[3] == 0.5f, "clipvalue");
        t_end(r);
    }
}

/* ---- spec files ---------------------------------------------------------------------------- */

static nnc_model *spec(const char *opt_line, nnc_error *e) {
    char text[1024];
    snprintf(text, sizeof text, "input 4\ndense 3\nloss mse\n%s\n", opt_line);
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

static void test_spec(test_run *r) {
    nnc_error e;
    if (t_begin(r, "optim/spec/exponential_decay")) {
        nnc_model *m = spec("optimizer sgd learning_rate=exponential_decay(0.1,decay_steps=100,decay_rate=0.96) "
                            "momentum=0.9", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_optimizer *o = &m->train->copts.optimizer;
            const nnc_schedule *s = &o->schedule;
            CHECK(r, o->kind == NNC_OPT_SGD && o->momentum == 0.9f, "optimizer");
            CHECK(r, s->kind == NNC_SCHEDULE_EXPONENTIAL_DECAY && s->initial_learning_rate == 0.1f &&
                         s->decay_steps == 100.0f && s->decay_rate == 0.96f && !s->staircase, "schedule");
        }
        nnc_model_free(m);
        m = spec("optimizer sgd learning_rate=ExponentialDecay(0.1,100,0.96,true)", &e);
        CHECK(r, m && m->train->copts.optimizer.schedule.staircase && m->train->copts.optimizer.schedule.decay_rate == 0.96f,
              "positional staircase, class name: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/piecewise_constant_decay")) {
        nnc_model *m = spec("optimizer adam learning_rate=piecewise_constant_decay(boundaries=[100,200],"
                            "values=[0.1,0.01,0.001])", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_schedule *s = &m->train->copts.optimizer.schedule;
            CHECK(r, s->kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY && s->n_boundaries == 2 &&
                         s->boundaries[0] == 100 && s->boundaries[1] == 200 && s->values[0] == 0.1f &&
                         s->values[1] == 0.01f && s->values[2] == 0.001f, "schedule");
        }
        nnc_model_free(m);
        /* the largest list fits on one line */
        char line[600] = "optimizer sgd learning_rate=piecewise_constant_decay([";
        for (int i = 0; i < NNC_MAX_BOUNDARIES; i++)
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%d", i ? "," : "", 10000 * (i + 1));
        strcat(line, "],[");
        for (int i = 0; i <= NNC_MAX_BOUNDARIES; i++)
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s0.00%d", i ? "," : "", i + 1);
        strcat(line, "])");
        m = spec(line, &e);
        CHECK(r, m && m->train->copts.optimizer.schedule.n_boundaries == NNC_MAX_BOUNDARIES &&
                     m->train->copts.optimizer.schedule.boundaries[15] == 160000,
              "16 boundaries: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/polynomial_decay")) {
        nnc_model *m = spec("optimizer rmsprop learning_rate=polynomial_decay(0.1,1000,0.001,2,true) centered=true", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_schedule *s = &m->train->copts.optimizer.schedule;
            CHECK(r, s->kind == NNC_SCHEDULE_POLYNOMIAL_DECAY && s->decay_steps == 1000.0f &&
                         s->end_learning_rate == 0.001f && s->power == 2.0f && s->cycle, "schedule");
        }
        nnc_model_free(m);
        m = spec("optimizer sgd learning_rate=polynomial_decay(0.1,decay_steps=50)", &e);
        CHECK(r, m && m->train->copts.optimizer.schedule.end_learning_rate == 0.0001f &&
                     m->train->copts.optimizer.schedule.power == 1.0f && !m->train->copts.optimizer.schedule.cycle,
              "defaults: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/inverse_time_decay")) {
        nnc_model *m = spec("optimizer adagrad learning_rate=inverse_time_decay(0.5,10,0.5,staircase=true)", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_schedule *s = &m->train->copts.optimizer.schedule;
            CHECK(r, s->kind == NNC_SCHEDULE_INVERSE_TIME_DECAY && s->initial_learning_rate == 0.5f &&
                         s->decay_steps == 10.0f && s->decay_rate == 0.5f && s->staircase, "schedule");
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/cosine_decay")) {
        nnc_model *m = spec("optimizer adamw learning_rate=cosine_decay(0.01,1000,warmup_steps=100,warmup_target=0.1)", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_schedule *s = &m->train->copts.optimizer.schedule;
            CHECK(r, s->kind == NNC_SCHEDULE_COSINE_DECAY && s->initial_learning_rate == 0.01f &&
                         s->decay_steps == 1000.0f && s->warmup && s->warmup_target == 0.1f &&
                         s->warmup_steps == 100.0f && s->alpha == 0.0f, "schedule");
        }
        nnc_model_free(m);
        m = spec("optimizer sgd learning_rate=cosine_decay(0.01,1000,0.1,warmup_target=None)", &e);
        CHECK(r, m && !m->train->copts.optimizer.schedule.warmup && m->train->copts.optimizer.schedule.alpha == 0.1f,
              "alpha positional, warmup_target None: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/cosine_decay_restarts")) {
        nnc_model *m = spec("optimizer nadam learning_rate=cosine_decay_restarts(0.01,100,t_mul=1.5,m_mul=0.9,alpha=0.1)", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_schedule *s = &m->train->copts.optimizer.schedule;
            CHECK(r, s->kind == NNC_SCHEDULE_COSINE_DECAY_RESTARTS && s->decay_steps == 100.0f &&
                         s->t_mul == 1.5f && s->m_mul == 0.9f && s->alpha == 0.1f, "schedule");
        }
        nnc_model_free(m);
        m = spec("optimizer sgd learning_rate=cosine_decay_restarts(0.01,first_decay_steps=100)", &e);
        CHECK(r, m && m->train->copts.optimizer.schedule.t_mul == 2.0f && m->train->copts.optimizer.schedule.m_mul == 1.0f,
              "defaults: %s", m ? "" : e.message);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec/every_optimizer")) {
        static const struct {
            const char *line;
            nnc_optimizer_kind kind;
        } ok[] = {
            {"optimizer adagrad learning_rate=0.1 initial_accumulator_value=0.2 epsilon=1e-6", NNC_OPT_ADAGRAD},
            {"optimizer Adadelta learning_rate=1.0 rho=0.9", NNC_OPT_ADADELTA},
            {"optimizer AdamW weight_decay=0.01 amsgrad=true", NNC_OPT_ADAMW},
            {"optimizer adam amsgrad=true clipnorm=1.0", NNC_OPT_ADAM},
            {"optimizer nadam beta_1=0.95 global_clipnorm=2", NNC_OPT_NADAM},
            {"optimizer adamax beta_2=0.99 clipvalue=0.5 weight_decay=0.001", NNC_OPT_ADAMAX},
            {"optimizer RMSprop rho=0.8 momentum=0.5", NNC_OPT_RMSPROP},
            {"optimizer SGD momentum=0.9 nesterov=true weight_decay=0.0001", NNC_OPT_SGD},
        };
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
            nnc_model *m = spec(ok[i].line, &e);
            if (CHECK(r, m != NULL, "'%s': %s", ok[i].line, e.message))
                CHECK(r, m->train->copts.optimizer.kind == ok[i].kind, "'%s': kind", ok[i].line);
            nnc_model_free(m);
        }
        nnc_model *m = spec("optimizer adagrad learning_rate=0.1 initial_accumulator_value=0.2 epsilon=1e-6", &e);
        CHECK(r, m && m->train->copts.optimizer.initial_accumulator_value == 0.2f && m->train->copts.optimizer.epsilon == 1e-6f,
              "adagrad settings");
        nnc_model_free(m);
        m = spec("optimizer AdamW weight_decay=0.01 amsgrad=true", &e);
        CHECK(r, m && m->train->copts.optimizer.weight_decay == 0.01f && m->train->copts.optimizer.amsgrad && m->train->n_slots == 3,
              "adamw settings");
        nnc_model_free(m);
        m = spec("optimizer adamax beta_2=0.99 clipvalue=0.5 weight_decay=0.001", &e);
        CHECK(r, m && m->train->copts.optimizer.clipvalue == 0.5f && m->train->copts.optimizer.weight_decay == 0.001f &&
                     m->train->copts.optimizer.beta_2 == 0.99f, "adamax settings");
        nnc_model_free(m);
        m = spec("optimizer adadelta", &e);
        CHECK(r, m && m->train->copts.optimizer.rho == 0.95f && m->train->copts.optimizer.learning_rate == 0.001f,
              "adadelta defaults");
        nnc_model_free(m);
        t_end(r);
    }
    static const struct {
        const char *name, *line, *expect;
    } bad[] = {
        {"missing_decay_steps", "optimizer sgd learning_rate=exponential_decay(0.1)",
         "t.nnc:4: optimizer: learning_rate=exponential_decay(0.1): missing decay_steps"},
        {"missing_decay_rate", "optimizer sgd learning_rate=inverse_time_decay(0.1,10)",
         "t.nnc:4: optimizer: learning_rate=inverse_time_decay(0.1,10): missing decay_rate"},
        {"missing_initial", "optimizer sgd learning_rate=cosine_decay(decay_steps=10)",
         "t.nnc:4: optimizer: learning_rate=cosine_decay(decay_steps=10): missing initial_learning_rate"},
        {"unknown_schedule", "optimizer sgd learning_rate=exp_decay(0.1,10,0.5)",
         "t.nnc:4: optimizer: unknown learning-rate schedule 'exp_decay' in learning_rate=exp_decay(0.1,10,0.5)"},
        {"schedule_unknown_key", "optimizer sgd learning_rate=cosine_decay(0.1,100,warmup=5)",
         "t.nnc:4: optimizer: learning_rate=cosine_decay(0.1,100,warmup=5): unknown key 'warmup'"},
        {"schedule_extra_value", "optimizer sgd learning_rate=exponential_decay(0.1,10,0.5,true,3)",
         "t.nnc:4: optimizer: learning_rate=exponential_decay(0.1,10,0.5,true,3): unexpected value '3'"},
        {"schedule_bad_value", "optimizer sgd learning_rate=exponential_decay(0.1,ten,0.5)",
         "t.nnc:4: optimizer: learning_rate=exponential_decay(0.1,ten,0.5): bad value 'ten' for decay_steps"},
        {"schedule_bad_bool", "optimizer sgd learning_rate=exponential_decay(0.1,10,0.5,staircase=yes)",
         "bad value 'yes' for staircase"},
        {"decay_steps_zero", "optimizer sgd learning_rate=polynomial_decay(0.1,0)",
         "t.nnc:4: optimizer: learning_rate=polynomial_decay(0.1,0): decay_steps must be > 0"},
        {"piecewise_counts", "optimizer sgd learning_rate=piecewise_constant_decay([10,20],[0.1,0.01])",
         "values needs one number more than boundaries (2 boundaries, 2 values)"},
        {"piecewise_order", "optimizer sgd learning_rate=piecewise_constant_decay([20,10],[0.1,0.01,0.001])",
         "boundaries must be strictly increasing"},
        {"piecewise_not_integer", "optimizer sgd learning_rate=piecewise_constant_decay([10.5],[0.1,0.01])",
         "boundaries must be integers"},
        {"piecewise_not_list", "optimizer sgd learning_rate=piecewise_constant_decay(10,[0.1,0.01])",
         "bad value '10' for boundaries (expected a list"},
        {"empty_argument", "optimizer sgd learning_rate=exponential_decay(0.1,,0.5)", "an empty argument"},
        {"not_a_call", "optimizer sgd learning_rate=exponential_decay(0.1", "bad value 'exponential_decay(0.1' for learning_rate"},
        {"bad_learning_rate", "optimizer sgd learning_rate=fast", "t.nnc:4: optimizer: bad value 'fast' for learning_rate"},
        {"key_not_taken", "optimizer adam momentum=0.9",
         "t.nnc:4: optimizer: unknown key 'momentum' (expected learning_rate, beta_1, beta_2, epsilon, amsgrad, "
         "weight_decay, clipnorm, global_clipnorm, clipvalue, use_ema)"},
        {"amsgrad_on_nadam", "optimizer nadam amsgrad=true", "t.nnc:4: optimizer: unknown key 'amsgrad'"},
        {"two_clippings", "optimizer sgd clipnorm=1 clipvalue=0.5",
         "t.nnc:4: optimizer: sgd: only one of clipnorm, clipvalue and global_clipnorm can be set"},
        {"negative_clipnorm", "optimizer sgd clipnorm=-1", "t.nnc:4: optimizer: bad value '-1' for clipnorm"},
        {"unknown_optimizer", "optimizer adamz", "t.nnc:4: optimizer: unknown optimizer 'adamz' (did you mean 'adam'? "
                                                 "one of sgd, adam, rmsprop, adagrad, adadelta, adamw, nadam, adamax)"},
        {"unknown_optimizer_far", "optimizer lbfgs", "t.nnc:4: optimizer: unknown optimizer 'lbfgs' (one of sgd, "
                                                     "adam, rmsprop, adagrad, adadelta, adamw, nadam, adamax)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "optim/spec/bad/%s", bad[i].name)) continue;
        memset(&e, 0, sizeof e);
        nnc_model *m = spec(bad[i].line, &e);
        CHECK(r, m == NULL, "accepted");
        CHECK(r, strstr(e.message, bad[i].expect) != NULL, "message '%s' lacks '%s'", e.message, bad[i].expect);
        nnc_model_free(m);
        t_end(r);
    }
}

/* ---- save → load ------------------------------------------------------------------------- */

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char path[160];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/nnc_optim_XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static nnc_model *mlp(nnc_optimizer opt) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, 11);
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(8);
    d.activation = NNC_ACT_RELU;
    nnc_dense(m, NNC_PREV, &d);
    d = nnc_dense_opts_default(3);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = opt;
    if (nnc_compile(m, &c)) {
        fprintf(stderr, "  compile: %s\n", nnc_last_error(m));
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static int schedule_equal(const nnc_schedule *a, const nnc_schedule *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind == NNC_SCHEDULE_NONE) return 1;
    int same = a->initial_learning_rate == b->initial_learning_rate && a->decay_steps == b->decay_steps &&
               a->decay_rate == b->decay_rate && a->staircase == b->staircase &&
               a->end_learning_rate == b->end_learning_rate && a->power == b->power && a->cycle == b->cycle &&
               a->alpha == b->alpha && a->warmup == b->warmup && a->warmup_target == b->warmup_target &&
               a->warmup_steps == b->warmup_steps && a->t_mul == b->t_mul && a->m_mul == b->m_mul &&
               a->n_boundaries == b->n_boundaries;
    for (int i = 0; same && i < a->n_boundaries; i++) same = a->boundaries[i] == b->boundaries[i];
    for (int i = 0; same && a->n_boundaries && i <= a->n_boundaries; i++) same = a->values[i] == b->values[i];
    return same;
}

static int optimizer_equal(const nnc_optimizer *a, const nnc_optimizer *b) {
    return a->kind == b->kind &&
           (a->schedule.kind != NNC_SCHEDULE_NONE || a->learning_rate == b->learning_rate) &&
           a->momentum == b->momentum && a->nesterov == b->nesterov && a->beta_1 == b->beta_1 &&
           a->beta_2 == b->beta_2 && a->epsilon == b->epsilon && a->rho == b->rho &&
           a->centered == b->centered && a->amsgrad == b->amsgrad && a->weight_decay == b->weight_decay &&
           a->initial_accumulator_value == b->initial_accumulator_value && a->clipnorm == b->clipnorm &&
           a->clipvalue == b->clipvalue && a->global_clipnorm == b->global_clipnorm &&
           schedule_equal(&a->schedule, &b->schedule);
}

static void test_round_trip(test_run *r) {
    nnc_optimizer cases[NNC_OPT_COUNT];
    nnc_optimizer *o = &cases[NNC_OPT_SGD];
    *o = nnc_sgd_default();
    o->momentum = 0.9f;
    o->nesterov = true;
    o->clipnorm = 0.5f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_EXPONENTIAL_DECAY);
    o->schedule.initial_learning_rate = 0.1f;
    o->schedule.decay_steps = 7.0f;
    o->schedule.decay_rate = 0.8f;
    o->schedule.staircase = true;
    o = &cases[NNC_OPT_ADAM];
    *o = nnc_adam_default();
    o->amsgrad = true;
    o->global_clipnorm = 1.0f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY);
    o->schedule.n_boundaries = 2;
    o->schedule.boundaries[0] = 6;
    o->schedule.boundaries[1] = 12;
    o->schedule.values[0] = 0.02f;
    o->schedule.values[1] = 0.01f;
    o->schedule.values[2] = 0.005f;
    o = &cases[NNC_OPT_RMSPROP];
    *o = nnc_rmsprop_default();
    o->centered = true;
    o->momentum = 0.5f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_COSINE_DECAY);
    o->schedule.initial_learning_rate = 0.001f;
    o->schedule.decay_steps = 20.0f;
    o->schedule.warmup = true;
    o->schedule.warmup_target = 0.01f;
    o->schedule.warmup_steps = 5.0f;
    o->schedule.alpha = 0.1f;
    o = &cases[NNC_OPT_ADAGRAD];
    *o = nnc_adagrad_default();
    o->initial_accumulator_value = 0.2f;
    o->clipvalue = 0.3f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_POLYNOMIAL_DECAY);
    o->schedule.initial_learning_rate = 0.1f;
    o->schedule.decay_steps = 8.0f;
    o->schedule.power = 0.5f;
    o->schedule.cycle = true;
    o = &cases[NNC_OPT_ADADELTA];
    *o = nnc_adadelta_default();
    o->epsilon = 1e-4f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_INVERSE_TIME_DECAY);
    o->schedule.initial_learning_rate = 1.0f;
    o->schedule.decay_steps = 5.0f;
    o->schedule.decay_rate = 0.5f;
    o = &cases[NNC_OPT_ADAMW];
    *o = nnc_adamw_default();
    o->weight_decay = 0.05f;
    o->schedule = nnc_schedule_default(NNC_SCHEDULE_COSINE_DECAY_RESTARTS);
    o->schedule.initial_learning_rate = 0.01f;
    o->schedule.decay_steps = 4.0f;
    o->schedule.t_mul = 1.5f;
    o->schedule.m_mul = 0.8f;
    o->schedule.alpha = 0.05f;
    o = &cases[NNC_OPT_NADAM];
    *o = nnc_nadam_default();
    o->learning_rate = 0.005f;
    o = &cases[NNC_OPT_ADAMAX];
    *o = nnc_adamax_default();
    o->learning_rate = 0.01f;
    o->weight_decay = 0.01f;
    o->beta_2 = 0.99f;

    float x[90 * 4], y[90];
    blobs(5, 90, x, y);
    nnc_fit_opts f5 = nnc_fit_opts_default(), f3, f2;
    f5.epochs = 5;
    f5.batch_size = 16;
    f5.verbose = 0;
    f3 = f5;
    f3.epochs = 3;
    f2 = f5;
    f2.epochs = 2;
    for (int k = 0; k < NNC_OPT_COUNT; k++) {
        const char *nm = nnc_optimizer_name((nnc_optimizer_kind)k);
        if (!t_begin(r, "optim/save_load/%s", nm)) continue;
        nnc_model *a = mlp(cases[k]), *b = mlp(cases[k]), *c = NULL;
        if (!CHECK(r, a && b, "compile failed")) goto next;
        CHECK(r, nnc_fit(a, x, y, 90, &f5, NULL) == NNC_OK, "fit: %s", nnc_last_error(a));
        CHECK(r, nnc_fit(b, x, y, 90, &f3, NULL) == NNC_OK, "fit: %s", nnc_last_error(b));
        char file[64];
        snprintf(file, sizeof file, "%s.safetensors", nm);
        const char *path = tmp_path(file);
        CHECK(r, nnc_model_save(b, path, NULL) == NNC_OK, "save: %s", nnc_last_error(b));
        /* the file: Keras's class name, the schedule serialized as Keras does, the slots */
        nnc_st_file st;
        char msg[256];
        if (CHECK(r, nnc_st_read(path, &st, msg, sizeof msg) == 0, "%s", msg)) {
            const char *cc = nnc_st_meta_get(&st, "compile_config");
            char cls[64];
            snprintf(cls, sizeof cls, "\"class_name\":\"%s\"", nnc_optimizer_class((nnc_optimizer_kind)k));
            CHECK(r, cc && strstr(cc, cls), "compile_config lacks %s", cls);
            if (cases[k].schedule.kind != NNC_SCHEDULE_NONE) {
                snprintf(cls, sizeof cls, "\"class_name\":\"%s\"", nnc_schedule_class(cases[k].schedule.kind));
                CHECK(r, cc && strstr(cc, "\"learning_rate\":{\"module\":\"keras.optimizers.schedules\"") &&
                             strstr(cc, cls), "compile_config lacks the schedule %s: %s", cls, cc ? cc : "");
            }
            for (int s = 0; s < b->train->n_slots; s++) {
                char tn[128];
                snprintf(tn, sizeof tn, "optimizer.dense.kernel.%s", nnc_optimizer_slot_name(&cases[k], s));
                CHECK(r, nnc_st_find(&st, tn) != NULL, "no tensor %s", tn);
            }
            const nnc_st_tensor *lr = nnc_st_find(&st, "optimizer.learning_rate");
            float lrv = 0.0f;
            if (lr) memcpy(&lrv, lr->data, sizeof lrv);
            CHECK(r, lr && lrv == nnc_optimizer_learning_rate(&cases[k], b->train->iterations),
                  "optimizer.learning_rate is not the rate of the next step");
            nnc_st_free(&st);
        }
        nnc_error err = {""};
        c = nnc_model_load(path, &err);
        if (!CHECK(r, c != NULL, "load: %s", err.message)) goto next;
        CHECK(r, optimizer_equal(&c->train->copts.optimizer, &b->train->copts.optimizer), "optimizer config differs after load");
        CHECK(r, c->train->n_slots == b->train->n_slots && c->train->iterations == b->train->iterations, "slots %d/%d, iterations %lld/%lld",
              c->train->n_slots, b->train->n_slots, (long long)c->train->iterations, (long long)b->train->iterations);
        CHECK(r, !memcmp(c->train->opt_slots, b->train->opt_slots, b->n_trainable_floats * (size_t)b->train->n_slots * sizeof(float)),
              "optimizer state differs after load");
        CHECK(r, nnc_fit(c, x, y, 90, &f2, NULL) == NNC_OK, "fit: %s", nnc_last_error(c));
        CHECK(r, !memcmp(a->param_arena, c->param_arena, a->n_param_floats * sizeof(float)),
              "resumed training differs from uninterrupted training");
        CHECK(r, !memcmp(a->train->opt_slots, c->train->opt_slots, a->n_trainable_floats * (size_t)a->train->n_slots * sizeof(float)),
              "resumed optimizer state differs from uninterrupted");
        unlink(path);
    next:
        nnc_model_free(a);
        nnc_model_free(b);
        nnc_model_free(c);
        t_end(r);
    }
    if (t_begin(r, "optim/adagrad_accumulator_starts_at_initial_value")) {
        nnc_optimizer o2 = nnc_adagrad_default();
        o2.initial_accumulator_value = 0.25f;
        nnc_model *m = mlp(o2);
        if (CHECK(r, m != NULL, "compile")) {
            size_t n = m->n_trainable_floats, bad = 0;
            for (size_t i = 0; i < n; i++) bad += m->train->opt_slots[i] != 0.25f;
            CHECK(r, bad == 0, "%zu accumulators not 0.25 after compile", bad);
            nnc_fit_opts f1 = f2;
            f1.epochs = 1;
            CHECK(r, nnc_fit(m, x, y, 90, &f1, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
            CHECK(r, nnc_model_set_seed(m, 3) == NNC_OK, "reinitialize: %s", nnc_last_error(m));
            for (size_t i = 0; i < n; i++) bad += m->train->opt_slots[i] != 0.25f;
            CHECK(r, bad == 0, "%zu accumulators not 0.25 after reinitialize", bad);
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "optim/spec_schedule_round_trip")) {
        const char *text = "input 4\ndense 8 activation=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
                           "optimizer sgd learning_rate=cosine_decay(0.01,1000,warmup_steps=100,warmup_target=0.1) "
                           "momentum=0.9 global_clipnorm=1\n";
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e), *l = NULL;
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const char *path = tmp_path("spec.safetensors");
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
            l = nnc_model_load(path, &e);
            CHECK(r, l && optimizer_equal(&l->train->copts.optimizer, &m->train->copts.optimizer), "config differs: %s",
                  l ? "" : e.message);
            unlink(path);
        }
        nnc_model_free(m);
        nnc_model_free(l);
        t_end(r);
    }
    if (tmpdir[0]) rmdir(tmpdir);
}

void suite_optim(test_run *r);
void suite_optim(test_run *r) {
    test_schedule_values(r);
    test_optimizer_basics(r);
    test_spec(r);
    test_round_trip(r);
}
