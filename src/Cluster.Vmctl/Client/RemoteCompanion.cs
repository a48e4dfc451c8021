using System.Runtime.InteropServices;

namespace Cluster.Vmctl.Client;

/// <summary>
/// The NativeAOT vmctl has no Akka.Remote client: a command for <c>--node HOST:PORT</c> (or <c>$VMCTL_NODE</c>) replaces
/// this process with the companion, the ReadyToRun vmctl that has one, with the same arguments, environment, terminal and
/// process id (execv), so its output and exit code are the command's. The companion is <c>$VMCTL_REMOTE</c>, else
/// <c>vmctl-remote</c> next to this program (scripts/package installs it there).
/// </summary>
internal static partial class RemoteCompanion
{
    /// <summary>The environment variable naming the companion.</summary>
    public const string Variable = "VMCTL_REMOTE";

    /// <summary>The companion's file name next to vmctl.</summary>
    public const string FileName = "vmctl-remote";

    /// <summary>The companion's path.</summary>
    public static string PathOf(Func<string, string?> environment) =>
        environment(Variable) is { Length: > 0 } set ? set : Path.Combine(AppContext.BaseDirectory, FileName);

    /// <summary>Executes the companion with <paramref name="args"/>; returns only when it cannot (exit code 3, said why).</summary>
    public static int Exec(string[] args, TextWriter stderr)
    {
        var path = PathOf(Environment.GetEnvironmentVariable);
        if (!File.Exists(path))
        {
            stderr.WriteLine($"vmctl: --node (Akka.Remote) needs the companion {path}, which is not there: use --server https://HOST:PORT " +
                             $"(the node's API), or set ${Variable} to the vmctl-remote program");
            return Cli.ExitCodes.Unreachable;
        }
        stderr.Flush();
        Console.Out.Flush();
        var argv = new IntPtr[args.Length + 2];
        try
        {
            argv[0] = Marshal.StringToCoTaskMemUTF8(path);
            for (var i = 0; i < args.Length; i++)
                argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            // SAFETY: argv is a NULL-terminated array of NUL-terminated UTF-8 strings that stay allocated across the call;
            // execv either replaces the process image (never returning) or returns -1 leaving memory as it was.
            _ = ExecV(path, argv);
            var errno = Marshal.GetLastPInvokeError();
            stderr.WriteLine($"vmctl: cannot run {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
            return Cli.ExitCodes.Unreachable;
        }
        finally
        {
            foreach (var p in argv)
                if (p != IntPtr.Zero)
                    Marshal.FreeCoTaskMem(p);
        }
    }

    // SAFETY: execv(const char *path, char *const argv[]); path marshalled as UTF-8, argv passed as a pinned IntPtr array.
    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ExecV(string path, IntPtr[] argv);
}
