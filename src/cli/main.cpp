#include "cli/app.h"

int main(int argc, char** argv) { return mica::cli::Run(argc, argv); }
