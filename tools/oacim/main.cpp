// The oacim command-line tool; all behaviour lives in oacim_cli.
#include "oacim/cli/command.hpp"

int main(int argc, char** argv) { return oacim::cli::run(argc, argv); }
