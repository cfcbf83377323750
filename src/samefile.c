/* samefile.c -- outputs that are inputs (see samefile.h).
 *
 * A path is identified by stat() of the path (following symlinks) and of
 * its directory.  The pattern test for the dry-run warning is textual:
 * fnmatch(3) with glob's rules (FNM_PATHNAME, FNM_PERIOD), once on the
 * paths as given and once made absolute -- the output through realpath of
 * its directory, the pattern (which may hold wildcards in any component)
 * by folding ".", ".." and repeated slashes.
 */
#define _DEFAULT_SOURCE
#include "samefile.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "err.h"
#include "job.h"

#define MATCH_FLAGS (FNM_PATHNAME | FNM_PERIOD)

/* The file a path names, or the directory entry it would be. */
struct ident {
    int exists, dir_ok;
    dev_t dev, ddev;
    ino_t ino, dino;
    const char *base;
};

static void identify(const char *path, struct ident *id)
{
    struct stat st;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    memset(id, 0, sizeof *id);
    id->base = slash ? slash + 1 : path;
    if (stat(path, &st) == 0) {
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return;             /* same() compares directories of new paths only */
    }
    atomicfile_dir(path, dir, sizeof dir);
    if (stat(dir, &st) == 0) {
        id->dir_ok = 1;
        id->ddev = st.st_dev;
        id->dino = st.st_ino;
    }
}

/* The same file (both exist), or the same entry (neither exists yet). */
static int same(const struct ident *a, const struct ident *b)
{
    if (a->exists || b->exists)
        return a->exists && b->exists && a->dev == b->dev &&
               a->ino == b->ino;
    return a->dir_ok && b->dir_ok && a->ddev == b->ddev &&
           a->dino == b->dino && strcmp(a->base, b->base) == 0;
}

/* The first pattern that fnmatch()es path (as glob expanded it) into
 * out; the whole list if none does. */
static void origin(const char *patterns, const char *path, char *out,
                   size_t n)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", patterns);
    snprintf(out, n, "%s", patterns);
    for (char *save = NULL, *t = strtok_r(buf, JOB_LIST_SEPARATORS, &save);
         t; t = strtok_r(NULL, JOB_LIST_SEPARATORS, &save))
        if (fnmatch(t, path, MATCH_FLAGS) == 0) {
            snprintf(out, n, "%s", t);
            return;
        }
}

/* Target t is input `input`: say so, and how. */
static int refuse_input(const struct samefile_target *t, const char *input,
                        const char *patterns, struct h5b_error *err)
{
    char from[1024];
    origin(patterns, input, from, sizeof from);
    if (strcmp(t->path, input) != 0)
        return err_set(err, H5B_EINPUT, "%s '%s' is the input '%s' (from "
                       "files = %s) under another name; h5batch never "
                       "overwrites an input", t->what, t->path, input, from);
    if (strcmp(from, input) != 0)
        return err_set(err, H5B_EINPUT, "'%s' is both an input (from files "
                       "= %s) and %s: the input pattern reads an earlier "
                       "run's file; write %s outside the pattern or narrow "
                       "it", input, from, t->what, t->what);
    return err_set(err, H5B_EINPUT, "'%s' is both an input (from files = "
                   "%s) and %s; h5batch never overwrites an input", input,
                   from, t->what);
}

int samefile_check(const struct samefile_target *t, size_t n,
                   char *const *inputs, size_t ninputs, const char *patterns,
                   struct h5b_error *err)
{
    struct ident ids[8], in;
    if (n > sizeof ids / sizeof ids[0])
        return err_set(err, H5B_ERUN, "samefile_check: %zu targets", n);
    for (size_t i = 0; i < n; i++) {
        identify(t[i].path, &ids[i]);
        for (size_t j = 0; j < i; j++)
            if (same(&ids[i], &ids[j]))
                return err_set(err, H5B_EINPUT, "%s '%s' and %s '%s' are "
                               "the same file", t[j].what, t[j].path,
                               t[i].what, t[i].path);
    }
    for (size_t k = 0; k < ninputs; k++) {
        identify(inputs[k], &in);
        for (size_t i = 0; i < n; i++)
            if (same(&ids[i], &in))
                return refuse_input(&t[i], inputs[k], patterns, err);
    }
    return 0;
}

/* Fold "//", "." and ".." in the absolute path p, in place. */
static void fold(char *p)
{
    char *out = p, *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        size_t len = strcspn(s, "/");
        if (len == 1 && s[0] == '.') {
            s += len;
            continue;
        }
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (out > p && *--out != '/')
                ;
            s += len;
            continue;
        }
        if (len) {
            *out++ = '/';
            memmove(out, s, len);
            out += len;
        }
        s += len;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

/* p made absolute against the current directory, folded. */
static void absolute(const char *p, char *out, size_t n)
{
    char cwd[4096];
    if (p[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%s/%s", cwd, p);
    fold(out);
}

/* path made absolute through realpath of its directory. */
static void real_target(const char *path, char *out, size_t n)
{
    char dir[4096], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    atomicfile_dir(path, dir, sizeof dir);
    if (realpath(dir, real))
        snprintf(out, n, "%s/%s", strcmp(real, "/") ? real : "",
                 slash ? slash + 1 : path);
    else
        absolute(path, out, n);
}

int samefile_pattern(const char *patterns, const char *path, char *out,
                     size_t n)
{
    char buf[4096], abs_path[8192], abs_pat[8192];
    snprintf(buf, sizeof buf, "%s", patterns);
    real_target(path, abs_path, sizeof abs_path);
    for (char *save = NULL, *t = strtok_r(buf, JOB_LIST_SEPARATORS, &save);
         t; t = strtok_r(NULL, JOB_LIST_SEPARATORS, &save)) {
        absolute(t, abs_pat, sizeof abs_pat);
        if (fnmatch(t, path, MATCH_FLAGS) == 0 ||
            fnmatch(abs_pat, abs_path, MATCH_FLAGS) == 0) {
            snprintf(out, n, "%s", t);
            return 0;
        }
    }
    return -1;
}
