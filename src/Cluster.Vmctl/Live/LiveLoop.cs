using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;

namespace Cluster.Vmctl.Live;

/// <summary>The refresh loop shared by the live views and followers.</summary>
public static class LiveLoop
{
    /// <summary>How many refreshes in a row may go unanswered before a follower gives up.</summary>
    public const int MaxUnanswered = 3;

    /// <summary>
    /// Runs <paramref name="step"/> every <see cref="LiveOptions.Interval"/> until it returns an exit code;
    /// returns <see cref="ExitCodes.Ok"/> after one step with <see cref="LiveOptions.Once"/> or when
    /// <paramref name="cancel"/> fires (Ctrl-C).
    /// </summary>
    public static async Task<int> RunAsync(Func<Task<int?>> step, LiveOptions options, CancellationToken cancel)
    {
        while (true)
        {
            if (await step() is { } code)
                return code;
            if (options.Once || cancel.IsCancellationRequested)
                return ExitCodes.Ok;
            try
            {
                await Task.Delay(options.Interval, cancel);
            }
            catch (OperationCanceledException)
            {
                return ExitCodes.Ok;
            }
        }
    }

    /// <summary>Asks, turning "no answer" into a null reply and the message why.</summary>
    public static async Task<(object? Reply, string? Error)> TryAskAsync(IControlClient client, object message)
    {
        try
        {
            return (await client.AskAsync(message), null);
        }
        catch (NodeUnreachableException e)
        {
            return (null, e.Message);
        }
    }
}
