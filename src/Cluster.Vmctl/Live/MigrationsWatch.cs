using Cluster.Contracts.Migration;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Live;

/// <summary><c>vmctl migrations --watch</c>: the migrations table redrawn every refresh until Ctrl-C.</summary>
public static class MigrationsWatch
{
    public static async Task<int> RunAsync(IControlClient client, Printer printer, LiveOptions options, CancellationToken cancel)
    {
        var screen = new Screen(printer.Output, options.Ansi && !options.Once && !printer.Structured, fullScreen: true);
        var code = await LiveLoop.RunAsync(async () =>
        {
            var (reply, error) = await LiveLoop.TryAskAsync(client, ListMigrations.Instance);
            if (printer.Structured)
            {
                if (reply is MigrationList json)
                    printer.WriteData(json.Migrations.Select(MigrationView.Of).ToList());
                return null;
            }
            screen.Draw(reply is MigrationList list
                ? $"migrations at {Printer.Time(DateTime.UtcNow)} (Ctrl-C quits)\n{Table(list)}"
                : $"migrations: no answer ({error ?? $"unexpected reply {reply}"})");
            return null;
        }, options, cancel);
        screen.End();
        return code;
    }

    /// <summary>The table of <c>vmctl migrations</c> (without its header line with <paramref name="noHeaders"/>), or a line
    /// saying there are none (nothing with <paramref name="noHeaders"/>, for scripts).</summary>
    public static string Table(MigrationList list, bool noHeaders = false)
    {
        if (list.Migrations.Count == 0)
            return noHeaders ? "" : "no migrations\n";
        var text = new StringWriter();
        new Printer(text, OutputFormat.Table, noHeaders).Table(MigrationView.Headers, list.Migrations.Select(m => MigrationView.Of(m).Row()));
        return text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
