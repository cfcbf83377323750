/* test_mpienv.c -- unit tests of the pml decision before MPI_Init.
 *
 * The environment is a table set per test (UNIT_ENV in unit.h), read
 * through the getenv stand-in, so no test touches the process's own
 * environment; the parameter files are written into the test's scratch
 * directory. */
#define _XOPEN_SOURCE 500     /* nftw, in unit.h */
#include "unit.h"

#include <sys/stat.h>

#include "mpienv.h"

/* The value the decision sets ("" for none) under the files' verdict. */
static const char *decided(enum mpienv_file files)
{
    struct mpienv_pml d = mpienv_pml_decide(unit_getenv, files);
    assert_non_null(d.why);
    return d.set ? d.set : "";
}

static void test_open_mpi_one_node(void **state)
{
    (void)state;
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "3", "OMPI_COMM_WORLD_LOCAL_SIZE", "3");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "ob1");
    assert_string_equal(decided(MPIENV_FILE_ALLOWS), "ob1");
    assert_string_equal(mpienv_pml_decide(unit_getenv,
                                          MPIENV_FILE_SILENT).why, "one node");
}

static void test_open_mpi_several_nodes(void **state)
{
    (void)state;
    /* Rank 0's node holds 2 of 4, the other node 2: neither sets it. */
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_SIZE", "2");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
        "SLURM_NNODES", "1");     /* mpirun's view wins over Slurm's */
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "4", "SLURM_STEP_NUM_NODES", "1");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");  /* no LOCAL_SIZE */
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2x");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
}

static void test_slurm_step(void **state)
{
    (void)state;
    UNIT_ENV("PMIX_RANK", "1", "SLURM_STEP_NUM_NODES", "1", "SLURM_NNODES", "4");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "ob1");
    UNIT_ENV("PMIX_RANK", "1", "SLURM_STEP_NUM_NODES", "2", "SLURM_NNODES", "1");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    UNIT_ENV("PMI_RANK", "0", "SLURM_NNODES", "1");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "ob1");
    UNIT_ENV("PMI_RANK", "0", "SLURM_NNODES", "0");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
}

static void test_no_node_count(void **state)
{
    (void)state;
    UNIT_ENV("PMI_RANK", "0", "PMI_SIZE", "2");      /* Hydra without Slurm */
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    unit_env = NULL;
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
}

static void test_user_choice_is_kept(void **state)
{
    (void)state;
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
        "OMPI_MCA_pml", "ucx");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
        "OMPI_MCA_pml", "");      /* set, even empty: the user's */
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
        "H5BATCH_PML", "keep");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "");
    assert_string_equal(mpienv_pml_decide(unit_getenv,
                                          MPIENV_FILE_SILENT).why,
                        "H5BATCH_PML=keep");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
        "H5BATCH_PML", "auto");
    assert_string_equal(decided(MPIENV_FILE_SILENT), "ob1");
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_SIZE", "2");
    assert_string_equal(decided(MPIENV_FILE_CHOOSES), "");
}

static void test_params_text(void **state)
{
    (void)state;
    assert_int_equal(mpienv_params_text(""), MPIENV_FILE_SILENT);
    assert_int_equal(mpienv_params_text("btl = ^openib\n# pml = ucx\n"),
                     MPIENV_FILE_SILENT);
    /* Debian 12's system file. */
    assert_int_equal(mpienv_params_text(
        "btl_base_warn_component_unused=0\nmtl = ^ofi\n"
        "btl = ^uct,openib,ofi\npml = ^ucx\nosc = ^ucx,pt2pt\n"),
        MPIENV_FILE_ALLOWS);
    assert_int_equal(mpienv_params_text("pml=ucx"), MPIENV_FILE_CHOOSES);
    assert_int_equal(mpienv_params_text("  pml =  ^ucx, ob1 \r\n"),
                     MPIENV_FILE_CHOOSES);
    assert_int_equal(mpienv_params_text("pml = ^ob1x\n"),
                     MPIENV_FILE_ALLOWS);
    assert_int_equal(mpienv_params_text("pml = cm\npml = ^ucx # later\n"),
                     MPIENV_FILE_ALLOWS);           /* the last line counts */
    assert_int_equal(mpienv_params_text("pml_ucx_priority = 5\n"),
                     MPIENV_FILE_SILENT);
}

static void test_params_files(void **state)
{
    (void)state;
    char home[128], dotdir[160], user[200], sys[200], silent[200];
    char list[420];
    snprintf(home, sizeof home, "%s/home", unit_dir);
    snprintf(dotdir, sizeof dotdir, "%s/.openmpi", home);
    assert_int_equal(mkdir(home, 0700), 0);
    assert_int_equal(mkdir(dotdir, 0700), 0);
    const char *debian = "mtl = ^ofi\npml = ^ucx\n";
    unit_write_file("sys.conf", debian, strlen(debian), sys, sizeof sys);
    unit_write_file("silent.conf", "btl = self\n", 11, silent,
                    sizeof silent);
    UNIT_ENV("HOME", home);
    assert_int_equal(mpienv_params_files(unit_getenv, sys),
                     MPIENV_FILE_ALLOWS);          /* no user file */
    assert_int_equal(mpienv_params_files(unit_getenv, "/nonexistent/x"),
                     MPIENV_FILE_SILENT);
    snprintf(user, sizeof user, "%s/mca-params.conf", dotdir);
    FILE *f = fopen(user, "w");
    assert_non_null(f);
    fputs("pml = ucx\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mpienv_params_files(unit_getenv, sys),
                     MPIENV_FILE_CHOOSES);         /* the user's wins */
    /* The list replaces the default files; the first with a pml line
     * decides. */
    snprintf(list, sizeof list, "%s:%s", silent, sys);
    UNIT_ENV("HOME", home, "OMPI_MCA_mca_base_param_files", list);
    assert_int_equal(mpienv_params_files(unit_getenv, "/nonexistent/x"),
                     MPIENV_FILE_ALLOWS);
    UNIT_ENV("HOME", home, "OMPI_MCA_mca_base_param_files", silent);
    assert_int_equal(mpienv_params_files(unit_getenv, sys),
                     MPIENV_FILE_SILENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_mpi_one_node),
        cmocka_unit_test(test_open_mpi_several_nodes),
        cmocka_unit_test(test_slurm_step),
        cmocka_unit_test(test_no_node_count),
        cmocka_unit_test(test_user_choice_is_kept),
        cmocka_unit_test(test_params_text),
        cmocka_unit_test(test_params_files),
    };
    return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
