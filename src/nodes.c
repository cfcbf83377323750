/* nodes.c -- the nodes of a run, numbered by their lowest rank (nodes.h). */
#include "nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int alloc_nodes(struct nodes *n, int size, struct h5b_error *err)
{
    memset(n, 0, sizeof *n);
    n->node = calloc((size_t)(size > 0 ? size : 1), sizeof *n->node);
    n->host = calloc((size_t)(size > 0 ? size : 1), sizeof *n->host);
    if (!n->node || !n->host) {
        nodes_free(n);
        return err_set(err, H5B_ERUN, "out of memory");
    }
    n->size = size;
    return 0;
}

int nodes_build(struct nodes *n, int size, const int *lowest,
                const char *hosts, struct h5b_error *err)
{
    int rc = alloc_nodes(n, size, err);
    for (int r = 0; rc == 0 && r < size; r++) {
        int low = lowest[r];
        if (low < 0 || low > r || lowest[low] != low)
            rc = err_set(err, H5B_ERUN, "rank %d names rank %d as the "
                         "lowest of its node", r, low);
        else if (low == r) {
            n->node[r] = n->count;
            snprintf(n->host[n->count++], NODES_HOST_MAX, "%.*s",
                     NODES_HOST_MAX - 1, hosts + (size_t)r * NODES_HOST_MAX);
        } else {
            n->node[r] = n->node[low];
        }
    }
    if (rc < 0)
        nodes_free(n);
    return rc;
}

int nodes_single(struct nodes *n, int size, const char *host,
                 struct h5b_error *err)
{
    int rc = alloc_nodes(n, size, err);
    if (rc == 0) {
        n->count = 1;
        snprintf(n->host[0], NODES_HOST_MAX, "%s", host);
    }
    return rc;
}

void nodes_free(struct nodes *n)
{
    free(n->node);
    free(n->host);
    memset(n, 0, sizeof *n);
}

void nodes_ranks_text(const struct nodes *n, int k, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; r < n->size; r++) {
        if (n->node[r] != k || (r > 0 && n->node[r - 1] == k))
            continue;
        int last = r;
        while (last + 1 < n->size && n->node[last + 1] == k)
            last++;
        int w = last > r ? snprintf(out + used, len - used, "%s%d-%d",
                                    used ? ", " : "", r, last)
                         : snprintf(out + used, len - used, "%s%d",
                                    used ? ", " : "", r);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

int nodes_checker(const struct nodes *n, int k)
{
    for (int r = 1; r < n->size; r++)
        if (n->node[r] == k)
            return r;
    return -1;
}

int nodes_ranks_on(const struct nodes *n, int k)
{
    int c = 0;
    for (int r = 0; r < n->size; r++)
        c += n->node[r] == k;
    return c;
}
