/* Keras 3's progress bar. On a terminal the bar redraws at most every 50 ms; elsewhere (a
 * pipe, a log file) only the finished epoch's line is printed, so logs stay readable. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>
#include "progress.h"

#define BAR_WIDTH 20

void nnc_progress_init(nnc_progress *p, int verbose, FILE *f, int steps) {
    memset(p, 0, sizeof *p);
    p->verbose = verbose;
    p->f = f;
    p->steps = steps;
    p->live = verbose == 1 && isatty(fileno(f));
    p->last_draw = -1.0;
}

void nnc_progress_epoch(nnc_progress *p, int epoch, int epochs) {
    if (p->verbose) fprintf(p->f, "Epoch %d/%d\n", epoch, epochs);
}

void nnc_logs_format(const nnc_logs *l, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->count && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " - %s: %.4f", l->names[i], l->values[i]);
}

static void time_str(double secs, char *buf, size_t n) {
    snprintf(buf, n, "%.0fs", secs);
}

static void step_time(double secs, int steps, char *buf, size_t n) {
    double per = steps ? secs / steps : 0.0;
    if (per >= 1.0) snprintf(buf, n, "%.0fs/step", per);
    else if (per >= 1e-3) snprintf(buf, n, "%.0fms/step", per * 1e3);
    else snprintf(buf, n, "%.0fus/step", per * 1e6);
}

static void draw(nnc_progress *p, int step, double secs, const nnc_logs *logs, int final) {
    char bar[BAR_WIDTH * 3 + 1], ls[4096], ts[32], ps[32];
    int fill = p->steps ? step * BAR_WIDTH / p->steps : BAR_WIDTH;
    size_t len = 0;
    for (int i = 0; i < BAR_WIDTH; i++) {
        /* "━" (U+2501) for the done part, spaces for the rest. */
        const char *c = i < fill ? "\xe2\x94\x81" : " ";
        size_t cl = strlen(c);
        memcpy(bar + len, c, cl);
        len += cl;
    }
    bar[len] = '\0';
    nnc_logs_format(logs, ls, sizeof ls);
    time_str(secs, ts, sizeof ts);
    step_time(secs, step, ps, sizeof ps);
    if (p->verbose == 2)
        fprintf(p->f, "%d/%d - %s - %s%s\n", step, p->steps, ts, ps, ls);
    else
        fprintf(p->f, "%s%d/%d %s %s %s%s%s", p->live ? "\r\x1b[K" : "", step, p->steps, bar, ts,
                ps, ls, final ? "\n" : "");
    fflush(p->f);
}

void nnc_progress_update(nnc_progress *p, int step, double secs, const nnc_logs *logs) {
    if (!p->live || (secs - p->last_draw < 0.05 && step != p->steps)) return;
    p->last_draw = secs;
    draw(p, step, secs, logs, 0);
}

void nnc_progress_end(nnc_progress *p, int steps, double secs, const nnc_logs *logs) {
    if (p->verbose) draw(p, steps, secs, logs, 1);
}
