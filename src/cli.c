/* cli.c -- command-line parsing with getopt_long. */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "version.h"

void cli_usage(FILE *out)
{
    fputs("usage: h5batch [options] JOBFILE\n"
          "Reduce an HDF5 dataset in partitions over MPI ranks.\n\n"
          "  --set SECTION.KEY=VALUE  override a job-file key (repeatable)\n"
          "  -o, --output FILE        results file (overrides [output] file)\n"
          "      --dry-run            check everything and print the plan; "
          "read no data\n"
          "      --resume             continue from the job's checkpoint\n"
          "      --format text|json   summary on stdout (default text)\n"
          "  -q, --quiet              no progress on stderr\n"
          "  -h, --help               this help\n"
          "  -V, --version            print the version\n\n"
          "Exit status: 0 success, 1 runtime failure (I/O, MPI, memory),\n"
          "2 usage, job-file or input error, 75 interrupted by a signal\n"
          "after writing a checkpoint (run again with --resume).\n"
          "Run with: mpirun -n N h5batch job.ini  (or srun, or alone for "
          "one rank)\n", out);
}

static int add_set(struct cli *c, const char *v, struct h5b_error *err)
{
    const char **grown = realloc(c->sets, (size_t)(c->nsets + 1) *
                                              sizeof *grown);
    if (!grown)
        return err_set(err, H5B_ERUN, "out of memory");
    c->sets = grown;
    c->sets[c->nsets++] = v;
    return 0;
}

/* Handle one option; optarg as getopt left it. */
static int on_option(struct cli *c, int opt, const char *arg, char **argv,
                     struct h5b_error *err)
{
    switch (opt) {
    case 's': return add_set(c, arg, err);
    case 'o': c->output = arg; return 0;
    case 'd': c->dry_run = 1; return 0;
    case 'r': c->resume = 1; return 0;
    case 'q': c->quiet = 1; return 0;
    case 'h': c->help = 1; return 0;
    case 'V': c->version = 1; return 0;
    case 'f':
        if (strcmp(arg, "text") == 0 || strcmp(arg, "json") == 0) {
            c->json = arg[0] == 'j';
            return 0;
        }
        return err_set(err, H5B_EINPUT, "--format: '%s' is not text or json",
                       arg);
    case ':':
        if (strncmp(argv[optind - 1], "--", 2) != 0)
            return err_set(err, H5B_EINPUT, "option -%c needs a value",
                           optopt);
        return err_set(err, H5B_EINPUT, "option %s needs a value",
                       argv[optind - 1]);
    default:
        if (optopt)
            return err_set(err, H5B_EINPUT, "unknown option '-%c' (see "
                           "--help)", optopt);
        return err_set(err, H5B_EINPUT, "unknown option '%s' (see --help)",
                       argv[optind - 1]);
    }
}

int cli_parse(struct cli *c, int argc, char **argv, struct h5b_error *err)
{
    static const struct option longopts[] = {
        {"set", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'd'},
        {"resume", no_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int rc = 0;
    memset(c, 0, sizeof *c);
    opterr = 0;
    optind = 0;             /* 0, not 1: also resets glibc's cluster state */
    while (rc == 0) {
        int opt = getopt_long(argc, argv, ":o:qhV", longopts, NULL);
        if (opt == -1)
            break;
        rc = on_option(c, opt, optarg, argv, err);
    }
    if (rc < 0 || c->help || c->version)
        return rc;
    if (optind != argc - 1)
        return err_set(err, H5B_EINPUT, optind < argc
                       ? "expected one job file, got %d arguments (see "
                         "--help)"
                       : "no job file given (see --help)", argc - optind);
    c->jobfile = argv[optind];
    return 0;
}

void cli_free(struct cli *c)
{
    free(c->sets);
    c->sets = NULL;
    c->nsets = 0;
}

int cli_early(int argc, char **argv, int print)
{
    struct cli c;
    struct h5b_error err = {""};
    int rc = cli_parse(&c, argc, argv, &err);
    int status = rc < 0 ? H5B_EXIT_CODE(rc) : c.help || c.version ? 0 : -1;
    if (print && rc < 0)
        fprintf(stderr, "h5batch: error: %s\n", err.msg);
    else if (print && c.help)
        cli_usage(stdout);
    else if (print && c.version)
        printf("h5batch %s\n", H5BATCH_VERSION);
    cli_free(&c);
    return status;
}
