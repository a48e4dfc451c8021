using Akka.Actor;
using Cluster.Contracts.Replies;

namespace LifecycleBench;

/// <summary>A console subscriber that completes when the first non-empty chunk arrives.</summary>
public sealed class FirstByteProbe : ReceiveActor
{
    public FirstByteProbe(TaskCompletionSource<DateTime> firstByte) =>
        Receive<ConsoleOutput>(o =>
        {
            if (o.Data.Length > 0)
                firstByte.TrySetResult(DateTime.UtcNow);
        });
}
