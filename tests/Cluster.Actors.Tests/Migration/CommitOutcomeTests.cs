using Cluster.Actors.Migration;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Tests.Migration;

/// <summary>The journal's rule for a migration whose commit outcome a side does not know.</summary>
public sealed class CommitOutcomeTests
{
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static VmMigrated Migrated(string id) => new("a", At, "moved", id, "h1", "h2", 4);

    private static VmMigrationFailed Failed(string id) => new("a", At, "failed", id, "h2", false);

    [Fact]
    public void A_commit_in_the_journal_is_the_outcome_whatever_comes_after_it()
    {
        Assert.Equal(CommitOutcome.Committed, CommitOutcomes.Of([Migrated("m"), Failed("m")], "m"));
    }

    [Fact]
    public void A_failure_recorded_first_means_the_migration_did_not_commit()
    {
        Assert.Equal(CommitOutcome.Aborted, CommitOutcomes.Of([Failed("m"), Migrated("m")], "m"));
    }

    [Fact]
    public void Events_of_other_migrations_leave_the_outcome_unknown()
    {
        Assert.Equal(CommitOutcome.Unknown, CommitOutcomes.Of([Migrated("other"), Failed("older")], "m"));
    }
}
