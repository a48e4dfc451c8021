using Cluster.Actors.Migration;

namespace Cluster.Actors.Tests.Migration;

public sealed class CommitSlotTests
{
    [Fact]
    public void A_wait_opened_before_the_supervisor_stops_is_handed_to_it()
    {
        var slot = new CommitSlot();
        var written = new TaskCompletionSource();
        Assert.True(slot.TryOpen("m1", written));
        var pending = slot.Close();
        Assert.NotNull(pending);
        Assert.Equal("m1", pending.Value.MigrationId);
        Assert.Same(written, pending.Value.Written);
    }

    [Fact]
    public void A_wait_after_the_supervisor_stopped_is_refused_so_the_stream_resolves_it_itself()
    {
        var slot = new CommitSlot();
        Assert.Null(slot.Close());
        Assert.False(slot.TryOpen("m1", new TaskCompletionSource()));
    }

    [Fact]
    public void An_answered_wait_is_not_handed_over()
    {
        var slot = new CommitSlot();
        var written = new TaskCompletionSource();
        Assert.True(slot.TryOpen("m1", written));
        written.SetResult();
        Assert.Null(slot.Close());
    }
}
