/* filecheck.c -- does each node see rank 0's input files? (filecheck.h) */
#include "filecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileid.h"
#include "transport.h"

/* Describe files[0..n) as rank 0 sees them into f (f->path borrows
 * files). */
static int describe(char *const *files, size_t n, struct wire_files *f,
                    struct h5b_error *err)
{
    f->n = n;
    f->path = (char **)files;
    f->id = calloc(n ? n : 1, sizeof *f->id);
    int rc = f->id ? 0 : err_set(err, H5B_ERUN, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fileid_get(files[i], &f->id[i], err);
    return rc;
}

/* Send the len bytes of msg to every worker. */
static int send_all(const struct nodes *nodes, const unsigned char *msg,
                    size_t len, struct h5b_error *err)
{
    int rc = 0;
    for (int w = 1; rc == 0 && w < nodes->size; w++)
        rc = tr_send(msg, len, w, err);
    return rc;
}

/* Take node k's CHECK from its checker into fc. */
static int take_check(const struct nodes *nodes, int k, struct tr_buf *in,
                      struct filecheck *fc, struct h5b_error *err)
{
    int32_t same = 0;
    int from = nodes_checker(nodes, k);
    fc->same[k] = -1;
    if (from < 0)
        return 0;
    int rc = tr_recv(from, in, NULL, err);
    if (rc == 0)
        rc = wire_decode_check(in->data, in->len, &same, fc->why[k],
                               FILECHECK_WHY_MAX, err);
    if (rc == 0)
        fc->same[k] = same;
    return rc;
}

/* Send each worker GO: whether its node sees the same files. */
static int send_go(const struct nodes *nodes, struct filecheck *fc,
                   struct h5b_error *err)
{
    unsigned char go[WIRE_GO_SIZE];
    int rc = 0;
    for (int w = 1; rc == 0 && w < nodes->size; w++) {
        fc->reads[w] = fc->same[nodes->node[w]] == 1;
        wire_encode_go(go, fc->reads[w]);
        rc = tr_send(go, sizeof go, w, err);
    }
    return rc;
}

int filecheck_master(const struct nodes *nodes, char *const *files, size_t n,
                     struct filecheck *fc, struct h5b_error *err)
{
    struct wire_files f = {0};
    struct tr_buf in = {0};
    unsigned char *msg = NULL;
    fc->same = calloc((size_t)nodes->count, sizeof *fc->same);
    fc->why = calloc((size_t)nodes->count, sizeof *fc->why);
    fc->reads = calloc((size_t)nodes->size, 1);
    int rc = fc->same && fc->why && fc->reads
             ? describe(files, n, &f, err)
             : err_set(err, H5B_ERUN, "out of memory");
    size_t len = rc == 0 ? wire_files_size(&f) : 0;
    if (rc == 0 && !(msg = malloc(len)))
        rc = err_set(err, H5B_ERUN, "out of memory");
    if (rc == 0) {
        wire_encode_files(msg, &f);
        rc = send_all(nodes, msg, len, err);
    }
    for (int k = 0; rc == 0 && k < nodes->count; k++)
        rc = take_check(nodes, k, &in, fc, err);
    if (rc == 0)
        rc = send_go(nodes, fc, err);
    free(f.id);
    free(msg);
    tr_buf_free(&in);
    return rc;
}

void filecheck_free(struct filecheck *fc)
{
    free(fc->same);
    free(fc->why);
    free(fc->reads);
    memset(fc, 0, sizeof *fc);
}

/* Compare every file of f with what this rank sees: 1 when all are the
 * same, else 0 with the first difference in why. */
static int compare_all(const struct wire_files *f, char *why, size_t n)
{
    char d[FILECHECK_WHY_MAX - 64];
    for (size_t i = 0; i < f->n; i++) {
        struct fileid here;
        struct h5b_error e = {""};
        if (fileid_get(f->path[i], &here, &e) < 0) {
            snprintf(why, n, "%s", e.msg);
            return 0;
        }
        if (fileid_compare(&here, &f->id[i], d, sizeof d) < 0) {
            snprintf(why, n, "%s: %s", f->path[i], d);
            return 0;
        }
    }
    const char *hook = getenv("H5BATCH_TEST_FILES_DIFFER");
    if (hook && strcmp(hook, "1") == 0) {
        snprintf(why, n, "H5BATCH_TEST_FILES_DIFFER=1 (a test hook)");
        return 0;
    }
    return 1;
}

int filecheck_worker(const unsigned char *msg, size_t len, int checker,
                     struct wire_files *files, int *reads,
                     struct h5b_error *err)
{
    char why[FILECHECK_WHY_MAX] = "";
    struct tr_buf in = {0};
    int32_t go = 0;
    struct h5b_error e = {""};
    int rc = 0;
    /* A list this rank cannot decode is a difference, still answered:
     * rank 0 waits for this node's CHECK. */
    int ok = wire_decode_files(msg, len, files, &e) == 0;
    if (checker) {
        int same = ok ? compare_all(files, why, sizeof why) : 0;
        if (!ok)
            snprintf(why, sizeof why, "%s", e.msg);
        unsigned char *out = malloc(wire_check_size(why));
        rc = out ? 0 : err_set(err, H5B_ERUN, "out of memory");
        if (rc == 0) {
            wire_encode_check(out, same, why);
            rc = tr_send(out, wire_check_size(why), 0, err);
        }
        free(out);
    }
    if (rc == 0)
        rc = tr_recv(0, &in, NULL, err);
    if (rc == 0)
        rc = wire_decode_go(in.data, in.len, &go, err);
    *reads = rc == 0 && ok && go;
    tr_buf_free(&in);
    return rc;
}
