/* The per-character and per-token work of search/analysis.py's tokens() and fold(), in one pass
 * each: partial NFKC with A-Z lowered and the spans OpenCC must see (prepare), OpenCC's output put
 * in with the variant table (splice), and the punctuation filter (words).
 *
 * The character classes come from analysis.py (set_tables, once per process): a flag byte for
 * each character of the Basic Multilingual Plane, the single-character NFKC of the characters
 * flagged SIMPLE, the variant table's character for those flagged VARIANT, and the flags of
 * every character beyond the BMP (which get the slow path; their ALNUM and LOWER from CPython).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum {
    F_UNSAFE = 1,   /* its NFKC can change a kept token */
    F_SIMPLE = 2,   /* UNSAFE, but a boundary before it and a one-character NFKC: mapped alone */
    F_OPENCC = 4,   /* OpenCC t2s may change it (alone or in a phrase) */
    F_VARIANT = 8,  /* a key of the variant table */
    F_LOWER = 16,   /* lower() changes it and it is not A-Z */
    F_UPPER = 32,   /* A-Z */
    F_ALNUM = 64,   /* str.isalnum() */
};

static PyObject *flags_bytes, *simple_bytes, *variant_bytes, *normalize, *nfkc_form;
static const unsigned char *flags;
static const Py_UCS2 *simple, *variant;
static int beyond;

static inline int
char_flags(Py_UCS4 c)
{
    if (c < 0x10000)
        return flags[c];
    return beyond | (Py_UNICODE_ISALNUM(c) ? F_ALNUM : 0) | (Py_UNICODE_TOLOWER(c) != c ? F_LOWER : 0);
}

static int
ready(PyObject *text)
{
    if (flags == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "search._analysis: set_tables() was not called");
        return 0;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "expected str, not %.100s", Py_TYPE(text)->tp_name);
        return 0;
    }
    return 1;
}

static PyObject *
set_tables(PyObject *self, PyObject *args)
{
    PyObject *f, *s, *v;
    int b;
    if (!PyArg_ParseTuple(args, "SSSi", &f, &s, &v, &b))
        return NULL;
    Py_ssize_t size = 0x10000 * sizeof(Py_UCS2);
    if (PyBytes_GET_SIZE(f) != 0x10000 || PyBytes_GET_SIZE(s) != size || PyBytes_GET_SIZE(v) != size) {
        PyErr_SetString(PyExc_ValueError, "a table of 65536 flags and two of 65536 UCS-2 characters expected");
        return NULL;
    }
    Py_XSETREF(flags_bytes, Py_NewRef(f));
    Py_XSETREF(simple_bytes, Py_NewRef(s));
    Py_XSETREF(variant_bytes, Py_NewRef(v));
    flags = (const unsigned char *)PyBytes_AS_STRING(f);
    simple = (const Py_UCS2 *)PyBytes_AS_STRING(s);
    variant = (const Py_UCS2 *)PyBytes_AS_STRING(v);
    beyond = b & ~(F_ALNUM | F_LOWER | F_VARIANT);  /* the variant table has BMP keys only */
    Py_RETURN_NONE;
}

/* The parts OpenCC must convert, found on the fly: each run of letters and digits with an OPENCC
 * character in it (no key of OpenCC's t2s dictionaries holds anything else, so no phrase crosses
 * a run's edge; a character OpenCC may change that is not a letter or digit goes with the run). */
typedef struct {
    int all, pending;   /* the flags of the characters so far; an OPENCC one in this run */
    Py_ssize_t run;     /* where this run started */
    PyObject *spans;    /* [start, end, ...] */
} Scanner;

static int
append_span(Scanner *s, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *a = PyLong_FromSsize_t(start), *b = PyLong_FromSsize_t(end);
    int failed = a == NULL || b == NULL || PyList_Append(s->spans, a) || PyList_Append(s->spans, b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    return failed ? -1 : 0;
}

/* The character at `at` (of flags f) of the text being scanned; f = 0 at the end. */
static inline int
feed(Scanner *s, int f, Py_ssize_t at)
{
    s->all |= f;
    s->pending |= f & F_OPENCC;
    if (f & F_ALNUM)
        return 0;
    if (s->pending) {
        if (append_span(s, s->run, (f & F_OPENCC) ? at + 1 : at))
            return -1;
        s->pending = 0;
    }
    s->run = at + 1;
    return 0;
}

static inline Py_UCS4
ascii_lower(Py_UCS4 c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* The rest of prepare(), when the text changes: NFKC where it can change a kept token, A-Z
 * lowered.  The text is cut before every character that is not UNSAFE or is SIMPLE (nothing
 * before such a character composes with it, so NFKC of the whole is the NFKC of the pieces); a
 * piece of one character is kept or mapped, a longer one (a character and the combining or
 * composing ones after it) goes to unicodedata. */
static PyObject *
rewrite(PyObject *text, Scanner *s)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), size = 0, capacity = n + 64;
    Py_UCS4 *out = PyMem_New(Py_UCS4, capacity);
    if (out == NULL)
        return PyErr_NoMemory();
    int f = n > 0 ? char_flags(PyUnicode_READ(kind, data, 0)) : 0, g = 0;
    for (Py_ssize_t p = 0; p < n; f = g) {  /* f: the flags of the character at p */
        Py_UCS4 c = PyUnicode_READ(kind, data, p);
        Py_ssize_t q = p + 1;
        while (q < n) {
            g = char_flags(PyUnicode_READ(kind, data, q));
            if (!(g & F_UNSAFE) || (g & F_SIMPLE))
                break;
            q++;
        }
        if (q == p + 1 && (!(f & F_UNSAFE) || (f & F_SIMPLE))) {
            if (f & (F_SIMPLE | F_UPPER)) {
                c = ascii_lower((f & F_SIMPLE) ? simple[c] : c);
                f = char_flags(c);
            }
            if (feed(s, f, size))
                goto error;
            out[size++] = c;  /* capacity: size + n - p <= n + 64 holds */
        } else {
            PyObject *piece = PyUnicode_Substring(text, p, q), *normal = NULL;
            if (piece != NULL)
                normal = PyObject_CallFunctionObjArgs(normalize, nfkc_form, piece, NULL);
            Py_XDECREF(piece);
            if (normal == NULL)
                goto error;
            Py_ssize_t m = PyUnicode_GET_LENGTH(normal);
            if (size + m + (n - q) > capacity) {
                capacity = (size + m + (n - q)) * 2;
                Py_UCS4 *grown = PyMem_Resize(out, Py_UCS4, capacity);
                if (grown == NULL) {
                    Py_DECREF(normal);
                    PyErr_NoMemory();
                    goto error;
                }
                out = grown;
            }
            int nkind = PyUnicode_KIND(normal);
            const void *ndata = PyUnicode_DATA(normal);
            for (Py_ssize_t j = 0; j < m; j++) {
                Py_UCS4 d = ascii_lower(PyUnicode_READ(nkind, ndata, j));
                if (feed(s, char_flags(d), size)) {
                    Py_DECREF(normal);
                    goto error;
                }
                out[size++] = d;
            }
            Py_DECREF(normal);
        }
        p = q;
    }
    if (feed(s, 0, size))
        goto error;
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, size);
    PyMem_Free(out);
    return result;
error:
    PyMem_Free(out);
    return NULL;
}

/* prepare(text) -> (text, flags, spans): the text with NFKC where it can change a kept token and
 * A-Z lowered (the text itself when neither changes it), the flags of its characters together,
 * and [start, end, ...] of the parts OpenCC must convert. */
static PyObject *
prepare(PyObject *self, PyObject *text)
{
    if (!ready(text))
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i;
    Scanner s = {0, 0, 0, PyList_New(0)};
    if (s.spans == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        int f = char_flags(PyUnicode_READ(kind, data, i));
        if (f & (F_UNSAFE | F_UPPER))
            break;
        if (feed(&s, f, i))
            goto error;
    }
    if (i == n) {
        if (feed(&s, 0, n))
            goto error;
        text = Py_NewRef(text);
    } else {  /* it changes: start again, on what it becomes */
        Py_SETREF(s.spans, PyList_New(0));
        s.all = s.pending = s.run = 0;
        if (s.spans == NULL || (text = rewrite(text, &s)) == NULL)
            goto error;
    }
    return Py_BuildValue("(NiN)", text, s.all & ~F_ALNUM, s.spans);
error:
    Py_XDECREF(s.spans);
    return NULL;
}

/* splice(text, spans, converted, variants) -> (text, flags): text with the spans replaced by
 * their conversions (one after another in converted, a character apart), with variants=True the
 * variant table's characters replaced too, and the flags of the converted characters. */
static PyObject *
splice(PyObject *self, PyObject *args)
{
    PyObject *text, *spans, *converted;
    int variants;
    if (!PyArg_ParseTuple(args, "UO!Up", &text, &PyList_Type, &spans, &converted, &variants) || !ready(text))
        return NULL;
    int kind = PyUnicode_KIND(text), ckind = PyUnicode_KIND(converted), found = 0;
    int wide = kind > ckind ? kind : ckind;
    const void *data = PyUnicode_DATA(text), *cdata = PyUnicode_DATA(converted);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), m = PyUnicode_GET_LENGTH(converted);
    Py_ssize_t count = PyList_GET_SIZE(spans), done = 0, at = 0;
    Py_UCS4 widest = 0;
    /* Written in the wider kind of the two, made canonical below if no character needs it. */
    PyObject *result = PyUnicode_New(n, wide == PyUnicode_1BYTE_KIND ? 0xff : wide == PyUnicode_2BYTE_KIND ? 0xffff : 0x10ffff);
    if (result == NULL)
        return NULL;
    void *into = PyUnicode_DATA(result);
    for (Py_ssize_t k = 0; k <= count; k += 2) {
        Py_ssize_t start = n, end = n;
        if (k < count) {
            at += k > 0;  /* the character between two conversions */
            start = PyLong_AsSsize_t(PyList_GET_ITEM(spans, k));
            end = k + 1 < count ? PyLong_AsSsize_t(PyList_GET_ITEM(spans, k + 1)) : -1;
            if (PyErr_Occurred() || start < done || end < start || end > n || at + end - start > m) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "spans do not fit the text and its conversion");
                Py_DECREF(result);
                return NULL;
            }
        }
        for (; done < start; done++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, done);
            c = (variants && c < 0x10000 && (flags[c] & F_VARIANT)) ? variant[c] : c;
            widest = c > widest ? c : widest;
            PyUnicode_WRITE(wide, into, done, c);
        }
        for (; done < end; done++, at++) {
            Py_UCS4 c = PyUnicode_READ(ckind, cdata, at);
            int f = char_flags(c);
            found |= f;
            c = (variants && c < 0x10000 && (f & F_VARIANT)) ? variant[c] : c;
            widest = c > widest ? c : widest;
            PyUnicode_WRITE(wide, into, done, c);
        }
    }
    if (at != m) {  /* OpenCC keeps lengths: the tests check its dictionaries */
        PyErr_SetString(PyExc_ValueError, "the conversion is not as long as the spans");
        Py_DECREF(result);
        return NULL;
    }
    if (widest < (wide == PyUnicode_1BYTE_KIND ? 0x80 : wide == PyUnicode_2BYTE_KIND ? 0x100 : 0x10000))
        Py_SETREF(result, PyUnicode_FromKindAndData(wide, into, n));  /* narrower after all (rare) */
    return result == NULL ? NULL : Py_BuildValue("(Ni)", result, found & ~F_ALNUM);
}

/* Whether the token has a letter or digit (most have one first: a Han character). */
static inline int
is_word(PyObject *token)
{
    Py_ssize_t m = PyUnicode_GET_LENGTH(token);
    const void *data = PyUnicode_DATA(token);
    switch (PyUnicode_KIND(token)) {
    case PyUnicode_1BYTE_KIND:
        for (Py_ssize_t j = 0; j < m; j++)
            if (flags[((const Py_UCS1 *)data)[j]] & F_ALNUM)
                return 1;
        return 0;
    case PyUnicode_2BYTE_KIND:
        for (Py_ssize_t j = 0; j < m; j++)
            if (flags[((const Py_UCS2 *)data)[j]] & F_ALNUM)
                return 1;
        return 0;
    default:
        for (Py_ssize_t j = 0; j < m; j++)
            if (char_flags(((const Py_UCS4 *)data)[j]) & F_ALNUM)
                return 1;
        return 0;
    }
}

/* words(tokens): the list itself, less the tokens without a letter or digit. */
static PyObject *
words(PyObject *self, PyObject *list)
{
    if (flags == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "search._analysis: set_tables() was not called");
        return NULL;
    }
    if (!PyList_CheckExact(list)) {
        PyErr_Format(PyExc_TypeError, "expected list, not %.100s", Py_TYPE(list)->tp_name);
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list), kept = 0;
    PyObject **items = ((PyListObject *)list)->ob_item;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *token = items[i];
        if (i + 32 < n) {  /* tokens lie about in memory: ask early for a later one's header and text */
            __builtin_prefetch(items[i + 32]);
            __builtin_prefetch((char *)items[i + 32] + sizeof(PyCompactUnicodeObject));
        }
        if (!PyUnicode_Check(token)) {
            PyErr_SetString(PyExc_TypeError, "tokens must be str");
            memmove(items + kept, items + i, (n - i) * sizeof(PyObject *));  /* keep the list whole */
            Py_SET_SIZE(list, kept + n - i);
            return NULL;
        }
        if (is_word(token))
            items[kept++] = token;
        else
            Py_DECREF(token);
    }
    Py_SET_SIZE(list, kept);
    return Py_NewRef(list);
}

static PyMethodDef methods[] = {
    {"set_tables", set_tables, METH_VARARGS, "set_tables(flags, simple, variant, beyond): the character classes"},
    {"prepare", prepare, METH_O, "prepare(text) -> (text, flags, spans): partial NFKC, A-Z lowered, what OpenCC must see"},
    {"splice", splice, METH_VARARGS, "splice(text, spans, converted, variants) -> (text, flags of the converted)"},
    {"words", words, METH_O, "words(tokens): the list, less tokens without a letter or digit (in place)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_analysis", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__analysis(void)
{
    PyObject *unicodedata = PyImport_ImportModule("unicodedata");
    if (unicodedata == NULL)
        return NULL;
    normalize = PyObject_GetAttrString(unicodedata, "normalize");
    Py_DECREF(unicodedata);
    nfkc_form = PyUnicode_InternFromString("NFKC");
    if (normalize == NULL || nfkc_form == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "UNSAFE", F_UNSAFE) || PyModule_AddIntConstant(m, "SIMPLE", F_SIMPLE)
            || PyModule_AddIntConstant(m, "OPENCC", F_OPENCC) || PyModule_AddIntConstant(m, "VARIANT", F_VARIANT)
            || PyModule_AddIntConstant(m, "LOWER", F_LOWER) || PyModule_AddIntConstant(m, "UPPER", F_UPPER)
            || PyModule_AddIntConstant(m, "ALNUM", F_ALNUM)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
