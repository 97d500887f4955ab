// libsystemc.so exports main() and references sc_main; oacim programs have their own main and
// drive the kernel directly (run_cosim), so this definition only satisfies the link.
extern "C" int sc_main(int, char**) { return 1; }
