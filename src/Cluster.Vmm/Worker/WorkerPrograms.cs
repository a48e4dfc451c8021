namespace Cluster.Vmm.Worker;

/// <summary>
/// Which program a node starts its workers with. Three take the same <c>vmm serve</c> arguments: the NativeAOT
/// <c>vmm-worker</c> (<see cref="WorkerLauncher.AotWorkerFolder"/>: no runtime to start, no JIT; the emulator interprets
/// every block, since it cannot compile hot ones without a JIT), the ReadyToRun <c>vmm-worker</c>
/// (<see cref="WorkerLauncher.PublishedWorkerFolder"/>), and cluster-node itself (<c>cluster-node vmm serve</c>, JIT-compiled).
/// <see cref="Variable"/> chooses: <c>auto</c> (or unset) takes the first of them that is there, in that order; <c>aot</c>,
/// <c>readytorun</c> or <c>node</c> asks for one, and falls back down the same order, with the reason in the note, when it is
/// missing.
/// </summary>
public static class WorkerPrograms
{
    /// <summary>The environment variable that chooses the worker program: auto, aot, readytorun or node.</summary>
    public const string Variable = "CLUSTER_VMM_WORKER";

    /// <summary>
    /// The worker command for a program in <paramref name="programDirectory"/> and <paramref name="choice"/> (the value of
    /// <see cref="Variable"/>; null or empty is auto); <paramref name="note"/> says which program and why.
    /// </summary>
    /// <exception cref="VmmException">nothing is found (not even this program's own command).</exception>
    public static IReadOnlyList<string> Choose(string programDirectory, string? choice, out string note)
    {
        var wanted = string.IsNullOrEmpty(choice) ? "auto" : choice.Trim().ToLowerInvariant();
        string? why = wanted switch
        {
            "auto" or "aot" or "readytorun" or "node" => null,
            _ => $"{Variable}={choice} is not auto, aot, readytorun or node; taken as auto",
        };
        if (why is not null) wanted = "auto";
        why ??= wanted == "auto" ? null : $"{Variable}={wanted}";
        var missing = new List<string>();
        if (wanted is "auto" or "aot")
        {
            if (WorkerLauncher.AotWorker(programDirectory) is { } aot)
                return Chosen(aot, "the NativeAOT worker", why, out note);
            missing.Add($"no NativeAOT worker at {Path.Combine(programDirectory, WorkerLauncher.AotWorkerFolder, "vmm-worker")} (not built: "
                + "the AOT toolchain, clang or gcc, was missing or the build skipped it)");
        }
        if (wanted is "auto" or "aot" or "readytorun")
        {
            if (WorkerLauncher.PublishedWorker(programDirectory) is { } r2r)
                return Chosen(r2r, "the ReadyToRun worker", Join(why, missing), out note);
            missing.Add($"no ReadyToRun worker in {Path.Combine(programDirectory, WorkerLauncher.PublishedWorkerFolder)}");
        }
        return Chosen(WorkerLauncher.CurrentCommand(), "this program's own 'vmm serve' (JIT-compiled)", Join(why, missing), out note);
    }

    private static string? Join(string? why, List<string> missing) =>
        missing.Count == 0 ? why : string.Join("; ", missing.Prepend(why).OfType<string>());

    private static IReadOnlyList<string> Chosen(IReadOnlyList<string> command, string what, string? why, out string note)
    {
        note = $"VMM workers run {what}: {string.Join(' ', command)}" + (why is null ? "" : $" ({why})");
        return command;
    }
}
