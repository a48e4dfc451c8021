using Cluster.Contracts.Migration;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Vmctl;

/// <summary>
/// A control client that answers from canned replies: per message type, a queue whose last reply repeats;
/// a type without replies goes unanswered (<see cref="NodeUnreachableException"/>). Records what was asked.
/// </summary>
internal sealed class CannedClient : IControlClient
{
    private readonly Dictionary<Type, Queue<object>> _replies = [];

    public List<object> Asked { get; } = [];

    /// <summary>Called after each question is recorded (a test can cancel a live view from here).</summary>
    public Action<CannedClient>? AfterAsk { get; set; }

    /// <summary>Answers messages of type <typeparamref name="T"/> with <paramref name="replies"/> in turn, the last one from then on.</summary>
    public CannedClient On<T>(params object[] replies)
    {
        _replies[typeof(T)] = new Queue<object>(replies);
        return this;
    }

    public Task<object> AskAsync(object message)
    {
        Asked.Add(message);
        AfterAsk?.Invoke(this);
        if (!_replies.TryGetValue(message.GetType(), out var queue) || queue.Count == 0)
            throw new NodeUnreachableException($"no answer to {message.GetType().Name}");
        return Task.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek());
    }

    /// <summary>A migration in the given state with round figures, for rendering tests.</summary>
    public static MigrationInfo Migration(
        string vm, MigrationState state, long remaining = 256L << 20, string? failure = null, string id = "m-1") =>
        new(vm, id, "10.0.0.1:4053", "10.0.0.2:4053", state, MigrationStrategy.Auto, 2, 1UL << 30, remaining, 300 * 1048576.0,
            20 * 1048576.0, 1500, 10, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            state is MigrationState.Completed or MigrationState.Failed or MigrationState.Cancelled ? new DateTime(2026, 1, 2, 3, 4, 9, DateTimeKind.Utc) : null,
            state == MigrationState.Completed ? 42 : null, state is MigrationState.Completed or MigrationState.Failed ? 4200 : null,
            900L << 20, failure, MigrationCause.ByOperator);

    /// <summary>A small running VM spec.</summary>
    public static VmSpec Spec(string id) =>
        new(id, id, 1, 64UL << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, new RestartPolicy(RestartMode.Never, 0), 0);
}
