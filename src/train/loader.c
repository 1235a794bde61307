/* The background reader of nnc_row_source rows (loader.h). One thread per fit: the source's
 * read runs there while the training step runs here, so a batch read from disk costs the
 * step nothing when reading is faster than training. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "loader.h"

typedef struct {
    size_t *rows;
    size_t n;
    float *x, *y;
    nnc_status st;
    nnc_error err;
} slot;

struct nnc_loader {
    const nnc_row_source *src;
    size_t max_rows, f, t;
    slot s[2];
    unsigned asked, read, taken; /* requests made, read, taken back: slot = count % 2 */
    int quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
};

static void *reader(void *arg) {
    nnc_loader *L = arg;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        while (!L->quit && L->read == L->asked) pthread_cond_wait(&L->cv, &L->mu);
        if (L->quit) break;
        slot *s = &L->s[L->read % 2];
        pthread_mutex_unlock(&L->mu);
        s->err.message[0] = '\0';
        s->st = s->n ? L->src->read(L->src->ctx, s->rows, s->n, s->x, s->y, &s->err) : NNC_OK;
        if (s->st && !s->err.message[0]) snprintf(s->err.message, sizeof s->err.message, "the row source failed");
        pthread_mutex_lock(&L->mu);
        L->read++;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

nnc_loader *nnc_loader_new(const nnc_row_source *src, size_t max_rows, size_t f, size_t t) {
    nnc_loader *L = calloc(1, sizeof *L);
    if (!L) return NULL;
    L->src = src, L->max_rows = max_rows, L->f = f, L->t = t;
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        L->s[i].rows = malloc((max_rows + 1) * sizeof *L->s[i].rows);
        L->s[i].x = malloc((max_rows * f + 1) * sizeof(float));
        L->s[i].y = malloc((max_rows * t + 1) * sizeof(float));
        ok &= L->s[i].rows && L->s[i].x && L->s[i].y;
    }
    if (ok && !pthread_mutex_init(&L->mu, NULL)) {
        if (!pthread_cond_init(&L->cv, NULL)) {
            if (!pthread_create(&L->th, NULL, reader, L)) return L;
            pthread_cond_destroy(&L->cv);
        }
        pthread_mutex_destroy(&L->mu);
    }
    for (int i = 0; i < 2; i++) free(L->s[i].rows), free(L->s[i].x), free(L->s[i].y);
    free(L);
    return NULL;
}

void nnc_loader_request(nnc_loader *L, const size_t *rows, size_t first, size_t n) {
    pthread_mutex_lock(&L->mu);
    slot *s = &L->s[L->asked % 2]; /* taken already: the caller keeps at most two asked */
    pthread_mutex_unlock(&L->mu);
    s->n = n > L->max_rows ? L->max_rows : n;
    for (size_t i = 0; i < s->n; i++) s->rows[i] = rows ? rows[i] : first + i;
    pthread_mutex_lock(&L->mu);
    L->asked++;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

nnc_status nnc_loader_take(nnc_loader *L, const float **x, const float **y, nnc_error *err) {
    pthread_mutex_lock(&L->mu);
    while (L->read == L->taken) pthread_cond_wait(&L->cv, &L->mu);
    const slot *s = &L->s[L->taken % 2];
    L->taken++;
    pthread_mutex_unlock(&L->mu);
    *x = s->x, *y = s->y;
    if (s->st && err) *err = s->err;
    return s->st;
}

void nnc_loader_free(nnc_loader *L) {
    if (!L) return;
    pthread_mutex_lock(&L->mu);
    while (L->read != L->asked) pthread_cond_wait(&L->cv, &L->mu); /* the source may still hold a slot */
    L->quit = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->th, NULL);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    for (int i = 0; i < 2; i++) free(L->s[i].rows), free(L->s[i].x), free(L->s[i].y);
    free(L);
}
