// These tests start real node processes (up to three per test, each a .NET process with its own
// JIT warm-up): run one class at a time so that, on a 2-core machine, a test's processes are not
// starved by another test's.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
