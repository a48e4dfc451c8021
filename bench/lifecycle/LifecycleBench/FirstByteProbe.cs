using System.Diagnostics;
using Akka.Actor;
using Cluster.Contracts.Replies;

namespace LifecycleBench;

/// <summary>A console subscriber that completes (with a <see cref="Stopwatch"/> timestamp) when the first non-empty chunk arrives.</summary>
public sealed class FirstByteProbe : ReceiveActor
{
    public FirstByteProbe(TaskCompletionSource<long> firstByte) =>
        Receive<ConsoleOutput>(o =>
        {
            if (o.Data.Length > 0)
                firstByte.TrySetResult(Stopwatch.GetTimestamp());
        });
}
