/* Descriptions of settings: one row per argument of a layer, an optimizer or a learning-rate
 * schedule, with Keras's key, its type, where it lives in the C options struct (offsetof),
 * its place among the spec file's positional values and its accepted range. The spec parser,
 * the Keras-config writer and reader, the did-you-mean lists and the docs' tables of keys all
 * read these rows (src/io/), so an argument is described once. Data only: nothing here
 * depends on what reads it. */
#ifndef NNC_OPTIONS_H
#define NNC_OPTIONS_H
#include <stddef.h>

typedef enum {
    NNC_OPT_INT,            /* int in [lo, hi] */
    NNC_OPT_FLOAT,          /* float in [lo, hi] */
    NNC_OPT_BOOL,           /* bool */
    NNC_OPT_ACTIVATION,     /* nnc_activation, by Keras's name */
    NNC_OPT_INITIALIZER,    /* nnc_initializer: a name in the spec, Keras's object in configs */
    NNC_OPT_REGULARIZER,    /* nnc_regularizer: l1(x), l2(x), l1_l2(..) / Keras's L1, L2, L1L2 */
    NNC_OPT_INTS,           /* int[count], each in [lo, hi] (kernel_size, strides) */
    NNC_OPT_PADDING,        /* bool: "same" (true) or "valid" (false) */
    NNC_OPT_SHAPE,          /* nnc_shape: 1..NNC_MAX_RANK dimensions in [lo, hi] */
    NNC_OPT_PAD2D,          /* int[4] top, bottom, left, right: ZeroPadding2D's ((t, b), (l, r)) */
    NNC_OPT_FLOAT_OR_NONE,  /* float in [lo, hi] where 0 is Keras's None (off) */
    NNC_OPT_OPTIONAL_FLOAT, /* float in [lo, hi] given or not (None): the bool at aux says */
    NNC_OPT_INT64S,         /* int64_t[1..count] in [lo, hi], its length the int at aux */
    NNC_OPT_FLOATS_AFTER,   /* float[n + 1] in [lo, hi] where n is the int at aux (one value more
                             * than the list before it: piecewise-constant values) */
    NNC_OPT_CONST,          /* no storage: Keras's key with the one value nnc supports (literal);
                             * a config with another value is refused */
    NNC_OPT_FIXED,          /* no storage: written as literal, any value read is ignored */
    NNC_OPT_CHOICE,         /* int: the index of a name in literal, names separated by '|'
                             * ("nearest|bilinear"); Keras's string, a name "None" Keras's None */
} nnc_opt_type;

enum {
    NNC_OPTF_REQUIRED = 1u << 0,    /* the spec must give it */
    NNC_OPTF_CONFIG_ONLY = 1u << 1, /* a config key, not a spec key */
    NNC_OPTF_BATCHED = 1u << 2,     /* SHAPE: written and read with the batch axis (null) first */
    NNC_OPTF_REST = 1u << 3,        /* SHAPE, PAD2D: takes every remaining positional value */
    NNC_OPTF_ZERO_IS_AUX = 1u << 4, /* INTS: all zeros means the INTS at aux (pooling's strides) */
    NNC_OPTF_NAME = 1u << 5,        /* FIXED: the object's name, written as the literal */
    NNC_OPTF_CAUSAL = 1u << 6,      /* PADDING: "causal" too, as true in the bool at aux (Conv1D) */
    NNC_OPTF_NONE_IS_NEG = 1u << 7, /* INTS: all -1 is Keras's None (output_padding); INT: -1 */
    NNC_OPTF_UNWRITTEN = 1u << 8,   /* checked when a config has it, never written: a key that only
                                     * newer Keras versions know (older ones refuse it) */
    /* the activation, merge and normalization layers (layers-a2) */
    NNC_OPTF_SCALAR = 1u << 9,      /* SHAPE: one value is a plain number (Keras's int or tuple) */
    NNC_OPTF_EMPTY_IS_NONE = 1u << 10, /* SHAPE: no values is Keras's None (null) */
    NNC_OPTF_IF_AUX = 1u << 11,     /* REGULARIZER: its variable exists only when the bool at aux
                                     * is true (LayerNormalization's gamma and beta) */
    /* sequences: attention */
    NNC_OPTF_CALL_ARG = 1u << 15,   /* Keras's call argument, not a constructor's: in a functional
                                     * model written in the call's kwargs (use_causal_mask) */
    NNC_OPTF_ZERO_IS_NONE = 1u << 16, /* INT: 0 is Keras's None, written null (a null read is 0) */
    /* metrics (issue 15) */
    NNC_OPTF_NNC_ONLY = 1u << 17,   /* nnc's own key: written in nnc's files, never in Keras's */
    NNC_OPTF_NONE_FIRST = 1u << 18, /* SHAPE: the first axis may be None (a time axis of any
                                     * length, the spec's `input None 8`), held as 0 */
    /* wrappers (issue 14: Bidirectional, TimeDistributed): a Keras config nests the wrapped
     * layer's as {"layer": {"class_name": C, "config": {...}}} (src/io/keras_nested.c) */
    NNC_OPTF_NESTED = 1u << 12,     /* the key lives in the wrapped layer's config */
    NNC_OPTF_NESTED_CLASS = 1u << 13, /* CHOICE: the wrapped layer, by its spec keyword or Keras
                                     * class (the nested object's class_name) */
};

typedef struct {
    const char *key;      /* Keras's argument name ("units"), the spec's key */
    const char *config_key; /* the key in Keras's get_config when it differs ("batch_shape") */
    nnc_opt_type type;
    size_t offset;        /* where the value lives in the options struct */
    size_t aux;           /* OPTIONAL_FLOAT: its bool; INT64S, FLOATS_AFTER: the int count;
                           * INTS with ZERO_IS_AUX: the other INTS */
    int pos;              /* the spec's positional index, -1 for keyword only (CONST and FIXED
                           * rows are always keyword only) */
    int count;            /* INTS: values; INT64S: the most values */
    double lo, hi;        /* accepted range of each number */
    unsigned flags;       /* NNC_OPTF_* */
    const char *literal;  /* CONST, FIXED: the JSON value ("\"channels_last\"", "1", "null") */
    const char *alias;    /* a key older Keras versions wrote instead, read too ("alpha") */
    const char *example;  /* a spec line that gives it, shown when it is missing */
    const char *help;     /* one line for the docs' tables */
} nnc_opt_desc;

/* A row's first fields: key, type, the options struct and its field, the spec position. */
#define NNC_OPT_ROW(k, t, st, f, p) .key = (k), .type = (t), .offset = offsetof(st, f), .pos = (p)
#define NNC_OPT_COUNT_OF(a) ((int)(sizeof(a) / sizeof *(a)))

#endif
