using System.Globalization;
using System.Text;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary><c>vmctl console ID --follow</c>: attaches an actor to the VM's console and prints what it streams.</summary>
public static class ConsoleFollower
{
    public static async Task<int> RunAsync(NodeClient client, string id, string? seconds, Printer printer, TextWriter stderr)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var printerActor = client.System.ActorOf(Props.Create(() => new Follower(printer, stderr, done)), "console");
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            done.TrySetResult(ExitCodes.Ok);
        };
        if (seconds is not null)
        {
            if (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || s <= 0)
            {
                stderr.WriteLine("vmctl: bad --seconds");
                return ExitCodes.Usage;
            }
            _ = Task.Delay(TimeSpan.FromSeconds(s), cancel.Token).ContinueWith(_ => done.TrySetResult(ExitCodes.Ok), TaskScheduler.Default);
        }
        client.Tell(new ConsoleAttach(id), printerActor);
        var code = await done.Task;
        await cancel.CancelAsync();
        if (code == ExitCodes.Ok)
        {
            try
            {
                await client.AskAsync(new ConsoleDetach(id));
            }
            catch (NodeUnreachableException)
            {
                // the node went away while following: nothing left to detach from
            }
        }
        return code;
    }

    private sealed class Follower : ReceiveActor
    {
        public Follower(Printer printer, TextWriter stderr, TaskCompletionSource<int> done)
        {
            Receive<ConsoleOutput>(o =>
            {
                if (printer.Structured) printer.WriteData(new ConsoleText(o.VmId, Encoding.UTF8.GetString(o.Data)));
                else printer.Raw(Encoding.UTF8.GetString(o.Data));
            });
            ReceiveAny(reply => done.TrySetResult(Replies.Print(reply, printer, stderr)));
        }
    }
}
