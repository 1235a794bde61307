/* Tests for the internal JSON parser and string-buffer writer (src/io/json.c): values,
 * escapes, bounds (inputs are given without a NUL so ASan catches over-reads), one case per
 * rejected input, and writer round trips. Out of scope: file formats built on JSON. */
#include "format/json.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parses a copy that ends exactly at len, so reading past it trips the sanitizer. */
static nnc_json *parse_exact(const char *s, size_t len, char *err, size_t errlen) {
    char *copy = malloc(len ? len : 1);
    if (!copy) return NULL;
    memcpy(copy, s, len);
    nnc_json *j = nnc_json_parse(copy, len, err, errlen);
    free(copy);
    return j;
}

static nnc_json *parse_str(const char *s, char *err, size_t errlen) {
    return parse_exact(s, strlen(s), err, errlen);
}

static void good_cases(test_run *r) {
    char err[256];
    if (t_begin(r, "json/scalars")) {
        static const struct { const char *text; nnc_json_type type; double num; } rows[] = {
            {"null", NNC_JSON_NULL, 0}, {"true", NNC_JSON_BOOL, 1}, {" false ", NNC_JSON_BOOL, 0},
            {"0", NNC_JSON_NUMBER, 0}, {"-0.5", NNC_JSON_NUMBER, -0.5}, {"1.5e3", NNC_JSON_NUMBER, 1500},
            {"-12.25E-2", NNC_JSON_NUMBER, -0.1225}, {"1E+2", NNC_JSON_NUMBER, 100},
            {"\t\r\n 42\n", NNC_JSON_NUMBER, 42}};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            nnc_json *j = parse_str(rows[i].text, err, sizeof err);
            if (!CHECK(r, j, "'%s' failed: %s", rows[i].text, err)) continue;
            CHECK(r, j->type == rows[i].type, "'%s': type %d", rows[i].text, (int)j->type);
            if (j->type == NNC_JSON_NUMBER) CHECK(r, j->number == rows[i].num, "'%s' -> %g", rows[i].text, j->number);
            if (j->type == NNC_JSON_BOOL) CHECK(r, j->boolean == (int)rows[i].num, "'%s' bool", rows[i].text);
            nnc_json_free(j);
        }
        t_end(r);
    }
    if (t_begin(r, "json/rejects duplicate keys")) {
        /* as the reference safetensors reader does: which value counts would be a guess */
        static const char *const texts[] = {"{\"a\":1,\"a\":2}", "{\"x\":{\"units\":1,\"units\":1}}",
                                            "[{\"k\":0},{\"k\":1,\"b\":2,\"k\":3}]"};
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            nnc_json *j = parse_str(texts[i], err, sizeof err);
            CHECK(r, !j && strstr(err, "duplicate key"), "'%s' accepted (%s)", texts[i], err);
            nnc_json_free(j);
        }
        /* a large object goes through the map: its duplicate is found too */
        char big[64 * 12 + 32];
        size_t len = 0;
        len += (size_t)snprintf(big + len, sizeof big - len, "{");
        for (int k = 0; k < 60; k++) len += (size_t)snprintf(big + len, sizeof big - len, "\"k%d\":%d,", k, k);
        snprintf(big + len, sizeof big - len, "\"k17\":0}");
        nnc_json *j = parse_str(big, err, sizeof err);
        CHECK(r, !j && strstr(err, "duplicate key 'k17'"), "a 61-key object with a duplicate accepted (%s)", err);
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/nested object and lookups")) {
        const char *t = "{\"name\": \"dense\", \"units\": 64, \"shape\": [1, [2, 3], {}], \"act\": null, "
                        "\"dup\": 2, \"empty\": []}";
        nnc_json *j = parse_str(t, err, sizeof err);
        if (CHECK(r, j && j->type == NNC_JSON_OBJECT, "parse failed: %s", err)) {
            double v = 0;
            const char *s = nnc_json_get_string(j, "name");
            CHECK(r, j->count == 6, "count %zu", j->count);
            CHECK(r, s && !strcmp(s, "dense"), "name");
            CHECK(r, nnc_json_get_number(j, "units", &v) && v == 64, "units");
            CHECK(r, !nnc_json_get_number(j, "name", &v), "string is not a number");
            CHECK(r, !nnc_json_get_string(j, "units"), "number is not a string");
            CHECK(r, !nnc_json_get(j, "missing"), "missing key");
            CHECK(r, nnc_json_get_number(j, "dup", &v) && v == 2, "dup");
            const nnc_json *sh = nnc_json_get(j, "shape");
            CHECK(r, sh && sh->type == NNC_JSON_ARRAY && sh->count == 3 && !sh->keys, "shape array");
            CHECK(r, sh && sh->items[1]->count == 2 && sh->items[1]->items[1]->number == 3, "inner array");
            CHECK(r, sh && sh->items[2]->type == NNC_JSON_OBJECT && sh->items[2]->count == 0, "empty object");
            CHECK(r, nnc_json_get(j, "act")->type == NNC_JSON_NULL, "null member");
            CHECK(r, !nnc_json_get(sh, "x"), "get on an array");
            CHECK(r, !nnc_json_get(NULL, "x"), "get on NULL");
        }
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/string escapes and UTF-8")) {
        const char *t = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\\ud83d\\ude00\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\"]";
        nnc_json *j = parse_str(t, err, sizeof err);
        if (CHECK(r, j && j->count == 4, "parse failed: %s", err)) {
            CHECK(r, !strcmp(j->items[0]->string, "a\"b\\c/d\b\f\n\r\t"), "simple escapes");
            CHECK(r, !strcmp(j->items[1]->string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\\u escapes -> UTF-8");
            CHECK(r, !strcmp(j->items[2]->string, j->items[1]->string), "raw UTF-8 passes through");
            CHECK(r, j->items[3]->string[0] == '\0', "empty string");
        }
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/never reads past len")) {
        const char *t = "[1,2]garbage";
        nnc_json *j = parse_exact(t, 5, err, sizeof err);
        CHECK(r, j && j->count == 2, "prefix of 5 bytes should parse: %s", err);
        nnc_json_free(j);
        static const size_t cuts[] = {1, 2, 3, 4};
        for (size_t i = 0; i < 4; i++) {
            j = parse_exact(t, cuts[i], err, sizeof err);
            CHECK(r, !j && strstr(err, "end of input"), "cut at %zu: '%s'", cuts[i], err);
            nnc_json_free(j);
        }
        j = parse_exact("\"ab\\", 4, err, sizeof err);
        CHECK(r, !j && strstr(err, "unterminated"), "escape at the end: '%s'", err);
        nnc_json_free(j);
        j = parse_exact("\"\\ud83d\\ude0", 12, err, sizeof err);
        CHECK(r, !j, "truncated surrogate pair");
        nnc_json_free(j);
        j = parse_exact("12345", 3, err, sizeof err);
        CHECK(r, j && j->number == 123, "number cut by len");
        nnc_json_free(j);
        j = nnc_json_parse(NULL, 0, err, sizeof err);
        CHECK(r, !j, "NULL input");
        t_end(r);
    }
    if (t_begin(r, "json/nesting limit 64 accepted")) {
        char buf[200];
        memset(buf, '[', 64);
        memset(buf + 64, ']', 64);
        nnc_json *j = parse_exact(buf, 128, err, sizeof err);
        CHECK(r, j != NULL, "64 levels should parse: %s", err);
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/long number and long string")) {
        char buf[400];
        buf[0] = '"';
        memset(buf + 1, 'x', 300);
        strcpy(buf + 301, "\"");
        nnc_json *j = parse_str(buf, err, sizeof err);
        CHECK(r, j && strlen(j->string) == 300, "long string");
        nnc_json_free(j);
        memset(buf, '0', 200);
        buf[0] = '0', buf[1] = '.';
        strcpy(buf + 200, "1");
        j = parse_str(buf, err, sizeof err);
        CHECK(r, j && j->number > 0 && j->number < 1e-190, "200-char number: %s", err);
        nnc_json_free(j);
        t_end(r);
    }
}

static void bad_cases(test_run *r) {
    static const struct { const char *name, *text, *want; } rows[] = {
        {"empty input", "", "byte 0: unexpected end of input"},
        {"only whitespace", "  \n", "unexpected end of input"},
        {"unclosed array", "[1,2", "expected ',' or ']'"},
        {"unclosed object", "{\"a\":1", "expected ',' or '}'"},
        {"missing colon", "{\"a\" 1}", "byte 5: expected ':'"},
        {"non-string key", "{1:2}", "expected a string key"},
        {"trailing comma in array", "[1,]", "byte 3: unexpected character ']'"},
        {"trailing comma in object", "{\"a\":1,}", "expected a string key"},
        {"missing comma", "[1 2]", "expected ',' or ']'"},
        {"leading zero", "01", "trailing characters"},
        {"trailing garbage", "[1] x", "byte 4: trailing characters"},
        {"two values", "1 2", "trailing characters"},
        {"bare minus", "-", "expected a digit"},
        {"leading plus", "+1", "unexpected character '+'"},
        {"dot without digits", "1.", "expected a digit after '.'"},
        {"leading dot", ".5", "unexpected character '.'"},
        {"empty exponent", "1e+", "expected a digit in exponent"},
        {"hex number", "0x10", "trailing characters"},
        {"number overflow", "1e999", "number out of range"},
        {"NaN literal", "NaN", "unexpected character 'N'"},
        {"Infinity literal", "[Infinity]", "unexpected character 'I'"},
        {"bad literal", "tru", "invalid literal"},
        {"literal prefix", "nulll", "trailing characters"},
        {"unterminated string", "\"abc", "byte 0: unterminated string"},
        {"invalid escape", "\"a\\qb\"", "byte 2: invalid escape '\\q'"},
        {"bad hex in \\u", "\"\\u12G4\"", "invalid \\u escape"},
        {"short \\u", "\"\\u12\"", "invalid \\u escape"},
        {"lone high surrogate", "\"\\ud800\"", "high surrogate not followed by a low surrogate"},
        {"high surrogate + non-low", "\"\\ud800\\u0041\"", "high surrogate not followed"},
        {"lone low surrogate", "\"\\udc00\"", "unpaired low surrogate"},
        {"escaped NUL", "\"a\\u0000\"", "\\u0000 is not supported"},
        {"raw control char", "\"a\x01" "b\"", "byte 2: unescaped control character 0x01"},
        {"raw newline in string", "\"a\nb\"", "unescaped control character 0x0a"},
        {"invalid UTF-8 byte", "\"\xff\"", "invalid UTF-8"},
        {"overlong UTF-8", "\"\xc0\xaf\"", "invalid UTF-8"},
        {"UTF-8 surrogate", "\"\xed\xa0\x80\"", "invalid UTF-8"},
        {"truncated UTF-8", "\"\xe2\x82\"", "invalid UTF-8"},
        {"UTF-8 above U+10FFFF", "\"\xf4\x90\x80\x80\"", "invalid UTF-8"},
        {"control byte outside string", "\x01", "unexpected byte 0x01"},
        {"single quotes", "'a'", "unexpected character '''"},
        {"comment", "[1 // x\n]", "expected ',' or ']'"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "json/rejects %s", rows[i].name)) continue;
        strcpy(err, "(unset)");
        nnc_json *j = parse_str(rows[i].text, err, sizeof err);
        CHECK(r, !j, "accepted");
        CHECK(r, strstr(err, rows[i].want) != NULL, "error '%s' lacks '%s'", err, rows[i].want);
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/rejects nesting deeper than 64")) {
        char buf[200];
        memset(buf, '[', 65);
        memset(buf + 65, ']', 65);
        nnc_json *j = parse_exact(buf, 130, err, sizeof err);
        CHECK(r, !j && strstr(err, "byte 64: nesting deeper than 64 levels"), "error '%s'", err);
        nnc_json_free(j);
        t_end(r);
    }
    if (t_begin(r, "json/rejects deep nesting without recursing far")) {
        size_t n = 100000;
        char *buf = malloc(n);
        memset(buf, '[', n);
        nnc_json *j = buf ? nnc_json_parse(buf, n, err, sizeof err) : NULL;
        CHECK(r, !j && strstr(err, "nesting"), "error '%s'", err);
        nnc_json_free(j);
        free(buf);
        t_end(r);
    }
    if (t_begin(r, "json/NULL err buffer is allowed")) {
        nnc_json *j = parse_str("[", NULL, 0);
        CHECK(r, !j, "accepted");
        t_end(r);
    }
}

static void writer_cases(test_run *r) {
    char err[256];
    if (t_begin(r, "json/strbuf puts and printf")) {
        nnc_strbuf sb = {0};
        nnc_sb_puts(&sb, "");
        CHECK(r, sb.len == 0, "empty puts");
        for (int i = 0; i < 1000; i++) nnc_sb_printf(&sb, "%d,", i);
        nnc_sb_puts(&sb, "end");
        CHECK(r, !sb.oom && sb.buf && sb.len == strlen(sb.buf), "length tracks content");
        CHECK(r, sb.buf && !strncmp(sb.buf, "0,1,2,", 6) && !strcmp(sb.buf + sb.len - 7, "999,end"),
              "content");
        nnc_sb_free(&sb);
        CHECK(r, !sb.buf && !sb.len && !sb.cap, "free resets");
        t_end(r);
    }
    if (t_begin(r, "json/string escaping round-trips")) {
        const char *s = "q\"b\\s/ \b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80 end";
        nnc_strbuf sb = {0};
        nnc_sb_json_string(&sb, s);
        CHECK(r, !sb.oom && strstr(sb.buf, "\\u0001") && strstr(sb.buf, "\\u001f") && strstr(sb.buf, "\\\"") &&
                     strstr(sb.buf, "\\n") && !strchr(sb.buf, '\n'), "escaped: %s", sb.buf);
        nnc_json *j = parse_exact(sb.buf, sb.len, err, sizeof err);
        CHECK(r, j && j->type == NNC_JSON_STRING && !strcmp(j->string, s), "round trip: %s", err);
        nnc_json_free(j);
        nnc_sb_free(&sb);
        nnc_sb_json_string(&sb, "");
        CHECK(r, !strcmp(sb.buf, "\"\""), "empty string");
        nnc_sb_free(&sb);
        t_end(r);
    }
    if (t_begin(r, "json/numbers print shortest")) {
        static const struct { double v; const char *want; } rows[] = {
            {0.0, "0"}, {-0.0, "-0"}, {1.0, "1"}, {0.1, "0.1"}, {-2.5, "-2.5"}, {1e300, "1e+300"},
            {123456789.0, "123456789"}, {80.0, "80"}, {1e14, "100000000000000"}, {1e15, "1e+15"}, {0.30000000000000004, "0.30000000000000004"}, {(double)NAN, "null"},
            {(double)INFINITY, "null"}, {-(double)INFINITY, "null"}};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            nnc_strbuf sb = {0};
            nnc_sb_json_number(&sb, rows[i].v);
            CHECK(r, sb.buf && !strcmp(sb.buf, rows[i].want), "%.17g -> '%s', want '%s'", rows[i].v,
                  sb.buf ? sb.buf : "", rows[i].want);
            nnc_sb_free(&sb);
        }
        t_end(r);
    }
    if (t_begin(r, "json/numbers round-trip exactly")) {
        uint64_t state = 0x9E3779B97F4A7C15u;
        int bad = 0;
        for (int i = 0; i < 5000 && !bad; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            uint64_t bits = state;
            double v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) continue;
            if (i % 2) v = (double)(float)((double)(int32_t)(state >> 32) / 65536.0);
            nnc_strbuf sb = {0};
            nnc_sb_json_number(&sb, v);
            nnc_json *j = parse_exact(sb.buf, sb.len, err, sizeof err);
            if (!j || memcmp(&j->number, &v, sizeof v)) {
                bad = 1;
                CHECK(r, 0, "%.17g printed as '%s' does not round-trip (%s)", v, sb.buf, j ? "" : err);
            }
            nnc_json_free(j);
            nnc_sb_free(&sb);
        }
        t_end(r);
    }
    if (t_begin(r, "json/document round-trip")) {
        nnc_strbuf sb = {0};
        nnc_sb_puts(&sb, "{");
        nnc_sb_json_string(&sb, "layer \"1\"");
        nnc_sb_printf(&sb, ":{\"units\":%d,\"rate\":", 32);
        nnc_sb_json_number(&sb, 0.001);
        nnc_sb_puts(&sb, "}}");
        nnc_json *j = parse_exact(sb.buf, sb.len, err, sizeof err);
        double rate = 0, units = 0;
        const nnc_json *l = nnc_json_get(j, "layer \"1\"");
        CHECK(r, l && nnc_json_get_number(l, "units", &units) && units == 32, "units: %s", err);
        CHECK(r, l && nnc_json_get_number(l, "rate", &rate) && rate == 0.001, "rate");
        nnc_json_free(j);
        nnc_sb_free(&sb);
        t_end(r);
    }
}

void suite_json(test_run *r);
void suite_json(test_run *r) {
    good_cases(r);
    bad_cases(r);
    writer_cases(r);
}
