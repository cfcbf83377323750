/* test_nodes.c -- unit tests of the node map (nodes.h).
 *
 * Ranks are laid out by hand, as MPI_Comm_split_type would group them on
 * a cluster (including a node whose ranks are not contiguous), and the
 * numbering, the rank lists and the checker of each node are compared
 * with what the layout says.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "nodes.h"

/* Host names of `size` ranks, NODES_HOST_MAX bytes each. */
static char *hosts_of(const char *const *names, int size)
{
    char *h = calloc((size_t)size, NODES_HOST_MAX);
    assert_non_null(h);
    for (int r = 0; r < size; r++)
        snprintf(h + (size_t)r * NODES_HOST_MAX, NODES_HOST_MAX, "%s",
                 names[r]);
    return h;
}

/* node1 holds ranks 0, 1 and 4; node2 ranks 2, 3 and 5. */
static void numbers_nodes_by_lowest_rank(void **state)
{
    (void)state;
    const char *names[] = {"node1", "node1", "node2", "node2", "node1",
                           "node2"};
    const int lowest[] = {0, 0, 2, 2, 0, 2};
    char *hosts = hosts_of(names, 6);
    struct nodes n;
    struct h5b_error err = {""};
    char text[64];
    assert_int_equal(nodes_build(&n, 6, lowest, hosts, &err), 0);
    assert_int_equal(n.count, 2);
    assert_string_equal(n.host[0], "node1");
    assert_string_equal(n.host[1], "node2");
    nodes_ranks_text(&n, 0, text, sizeof text);
    assert_string_equal(text, "0-1, 4");
    nodes_ranks_text(&n, 1, text, sizeof text);
    assert_string_equal(text, "2-3, 5");
    assert_int_equal(nodes_checker(&n, 0), 1);
    assert_int_equal(nodes_checker(&n, 1), 2);
    assert_int_equal(nodes_ranks_on(&n, 1), 3);
    nodes_free(&n);
    free(hosts);
}

/* Rank 0 alone on its node has no checker there. */
static void rank0_alone_has_no_checker(void **state)
{
    (void)state;
    const char *names[] = {"a", "b", "b"};
    const int lowest[] = {0, 1, 1};
    char *hosts = hosts_of(names, 3);
    struct nodes n;
    struct h5b_error err = {""};
    char text[64];
    assert_int_equal(nodes_build(&n, 3, lowest, hosts, &err), 0);
    assert_int_equal(nodes_checker(&n, 0), -1);
    assert_int_equal(nodes_checker(&n, 1), 1);
    nodes_ranks_text(&n, 0, text, sizeof text);
    assert_string_equal(text, "0");
    nodes_free(&n);
    free(hosts);
}

/* A lowest rank above the rank, or one that is not its own node's
 * lowest, is refused and leaves nothing. */
static void inconsistent_lowest_is_refused(void **state)
{
    (void)state;
    const char *names[] = {"a", "a", "a"};
    const int above[] = {0, 2, 2}, chained[] = {0, 0, 1};
    char *hosts = hosts_of(names, 3);
    struct nodes n;
    struct h5b_error err = {""};
    assert_true(nodes_build(&n, 3, above, hosts, &err) < 0);
    assert_contains(err.msg, "rank 1");
    assert_null(n.node);
    assert_true(nodes_build(&n, 3, chained, hosts, &err) < 0);
    assert_contains(err.msg, "rank 2");
    free(hosts);
}

static void single_node(void **state)
{
    (void)state;
    struct nodes n;
    struct h5b_error err = {""};
    char text[64];
    assert_int_equal(nodes_single(&n, 4, "vm", &err), 0);
    assert_int_equal(n.count, 1);
    nodes_ranks_text(&n, 0, text, sizeof text);
    assert_string_equal(text, "0-3");
    assert_int_equal(nodes_checker(&n, 0), 1);
    nodes_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_nodes_by_lowest_rank),
        cmocka_unit_test(rank0_alone_has_no_checker),
        cmocka_unit_test(inconsistent_lowest_is_refused),
        cmocka_unit_test(single_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
