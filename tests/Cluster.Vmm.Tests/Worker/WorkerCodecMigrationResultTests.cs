using Cluster.Vmm.Migration;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

/// <summary>The migration result on the worker socket: the pause's split travels, and a worker built before it still decodes.</summary>
public class WorkerCodecMigrationResultTests
{
    private static readonly MigrationResult Result = new()
    {
        Succeeded = true, Downtime = TimeSpan.FromMilliseconds(12), Rounds = 3, OwnershipMoved = true,
        ReadyAfter = TimeSpan.FromMilliseconds(7), CommitTime = TimeSpan.FromMilliseconds(4), ResumeTime = TimeSpan.FromMilliseconds(1),
    };

    [Fact]
    public void The_split_of_the_pause_crosses_the_socket()
    {
        var read = WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(Result)), r => r.ReadMigrationResult());

        Assert.Equal(Result, read);
    }

    [Fact]
    public void A_result_without_the_split_from_an_older_worker_still_decodes()
    {
        var bytes = WorkerCodec.Encode(w => w.Write(Result));
        var older = bytes[..^24];

        var read = WorkerCodec.Decode(older, r => r.ReadMigrationResult());

        Assert.Equal(Result with { ReadyAfter = TimeSpan.Zero, CommitTime = TimeSpan.Zero, ResumeTime = TimeSpan.Zero }, read);
    }

    [Fact]
    public void A_result_without_the_resume_time_from_the_previous_worker_still_decodes()
    {
        var bytes = WorkerCodec.Encode(w => w.Write(Result));
        var previous = bytes[..^8];

        var read = WorkerCodec.Decode(previous, r => r.ReadMigrationResult());

        Assert.Equal(Result with { ResumeTime = TimeSpan.Zero }, read);
    }
}
