using System.Diagnostics;
using Cluster.Node.Tests.TestUtils;
using Npgsql;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// The nemesis's journal, and how it is stopped. SQLite (the default): a WAL file on a small tmpfs of its own, which a
/// journal outage fills with a file and then frees (a full disk). PostgreSQL (<c>NEMESIS_JOURNAL=postgres</c>): a scratch
/// database on a server of the nemesis's own (<c>scripts/postgres</c> with <c>NEMESIS_PG_DATA</c>, default /tmp/nemesis-pg,
/// and <c>NEMESIS_PG_PORT</c>, default 55433, so that stopping it touches no other test's server), which a journal outage
/// stops and starts again. The nodes, in their network namespaces, reach it through its Unix socket in the data folder
/// (the namespaces share the file system, not 127.0.0.1).
/// </summary>
internal sealed class NemesisJournal : IDisposable
{
    private const string TmpfsSize = "128m";
    private readonly string _dir;
    private readonly PostgresScratch? _postgres;

    public NemesisJournal(string data)
    {
        _dir = Path.Combine(data, "journal");
        Directory.CreateDirectory(_dir);
        if (IsPostgres)
        {
            Postgres("start");
            var url = new NpgsqlConnectionStringBuilder(Postgres("url").Trim());
            _postgres = new PostgresScratch(url.ToString());
            Argument = "postgres:" + new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Host = PgData }.ConnectionString;
        }
        else
        {
            Run("mount", "-t", "tmpfs", "-o", $"size={TmpfsSize}", "nemesis-journal", _dir);
            Argument = $"sqlite:{Path.Combine(_dir, "journal.db")}";
        }
    }

    /// <summary>True when NEMESIS_JOURNAL=postgres.</summary>
    public static bool IsPostgres => Environment.GetEnvironmentVariable("NEMESIS_JOURNAL") == "postgres";

    public static string Name => IsPostgres ? "postgres" : "sqlite";

    private static string PgData => Environment.GetEnvironmentVariable("NEMESIS_PG_DATA") is { Length: > 0 } d ? d : "/tmp/nemesis-pg";

    private static string PgPort => Environment.GetEnvironmentVariable("NEMESIS_PG_PORT") is { Length: > 0 } p ? p : "55433";

    /// <summary>The nodes' <c>--journal</c> argument.</summary>
    public string Argument { get; }

    private string Filler => Path.Combine(_dir, "filler");

    /// <summary>Stops the journal: the server stopped, or the file system filled (to its last byte).</summary>
    public string Stop()
    {
        if (IsPostgres)
        {
            Postgres("stop");
            return "(PostgreSQL stopped)";
        }
        return $"(the journal's disk filled with {NemesisImages.FillUp(Filler) >> 20} MiB)";
    }

    /// <summary>Starts the journal again: the server started, or the filler deleted.</summary>
    public void Start()
    {
        if (IsPostgres)
            Postgres("start");
        else
            File.Delete(Filler);
    }

    public void Dispose()
    {
        if (_postgres is not null)
        {
            Postgres("start");
            // The pool's connections died with the server's outage.
            NpgsqlConnection.ClearAllPools();
            _postgres.Dispose();
        }
        else
        {
            Run("umount", "-l", _dir);
        }
    }

    /// <summary>scripts/postgres VERB against the nemesis's own server; its standard output.</summary>
    private static string Postgres(string verb)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cluster.sln")))
            root = root.Parent;
        var info = new ProcessStartInfo(Path.Combine(root?.FullName ?? throw new InvalidOperationException("no Cluster.sln"), "scripts", "postgres"), verb)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["PG_DATA"] = PgData;
        info.Environment["PG_PORT"] = PgPort;
        info.Environment["PG_DB"] = "nemesis";
        return Run(info);
    }

    private static void Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        Run(info);
    }

    private static string Run(ProcessStartInfo info)
    {
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{info.FileName} {string.Join(' ', info.ArgumentList)} failed ({process.ExitCode}): {stderr}");
        return stdout.Result;
    }
}
