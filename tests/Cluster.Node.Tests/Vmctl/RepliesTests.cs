using System.Text.Json;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl;

public class RepliesTests
{
    private static readonly DateTime At = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static (int Code, string Out, string Err) Print(object reply, bool json = false)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Replies.Print(reply, new Printer(stdout, json), stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Prints_an_accepted_migration_and_a_cancellation()
    {
        Assert.Equal((ExitCodes.Ok, "a: migrating h1:1 -> h2:1 (migration m-7)\n", ""),
            Print(new MigrationAccepted("a", "m-7", "h1:1", "h2:1")));
        Assert.Contains("a: cancelling migration m-7", Print(new MigrationCancelling("a", "m-7")).Out);
    }

    [Fact]
    public void Prints_migrations_as_a_table_with_progress_bars_and_the_outcome_of_finished_ones()
    {
        var (code, text, _) = Print(new MigrationList(
        [
            CannedClient.Migration("a", MigrationState.PreCopy),
            CannedClient.Migration("b", MigrationState.Completed, remaining: 0, id: "m-2"),
            CannedClient.Migration("c", MigrationState.Failed, failure: "target refused: no memory", id: "m-3"),
        ]));
        var lines = text.Split('\n');
        Assert.Equal(ExitCodes.Ok, code);
        Assert.StartsWith("VM  FROM -> TO", lines[0]);
        Assert.Contains("THROTTLE", lines[0]);
        Assert.Contains("PreCopy", lines[1]);
        Assert.Contains("[###############.....]  75%", lines[1]);
        Assert.Contains("256.0 MiB", lines[1]);
        Assert.Contains("300.0 MiB/s", lines[1]);
        Assert.Contains("20.0 MiB/s", lines[1]);
        Assert.Contains("1.5 s", lines[1]);
        Assert.Contains("[####################] 100%", lines[2]);
        Assert.Contains("downtime 42 ms, total 4.2 s, 900.0 MiB sent", lines[2]);
        Assert.Contains("failed: target refused: no memory", lines[3]);
    }

    [Fact]
    public void Prints_migrations_as_json_with_their_progress()
    {
        var json = JsonDocument.Parse(Print(new MigrationList([CannedClient.Migration("a", MigrationState.PreCopy)]), json: true).Out).RootElement[0];
        Assert.Equal(("a", "PreCopy", 0.75, "Operator"),
            (json.GetProperty("vmId").GetString(), json.GetProperty("state").GetString(), json.GetProperty("progress").GetDouble(),
             json.GetProperty("trigger").GetString()));
    }

    [Fact]
    public void Prints_the_vms_a_drain_moves_and_an_undrain()
    {
        Assert.Equal("h1:1: draining; 2 VMs will move: a, b\n", Print(new DrainStarted("h1:1", ["a", "b"])).Out);
        Assert.Equal("h1:1: draining; no VM to move\n", Print(new DrainStarted("h1:1", [])).Out);
        Assert.Equal("h1:1: takes new VMs again\n", Print(new HostUndrained("h1:1")).Out);
        Assert.Equal(ExitCodes.Refused, Print(new HostNotFound("h9:1", ["h1:1"])).Code);
    }

    [Fact]
    public void Prints_the_rebalancer_with_load_bars_the_plan_and_the_stuck_vms()
    {
        var status = new RebalanceStatus(RebalanceMode.Recommend, 0.35, 0.2, null,
            [new RebalanceHost("h1:1", 0.9, false, new Dictionary<string, string>()),
             new RebalanceHost("h2:1", 0.2, true, new Dictionary<string, string> { ["big"] = "needs 8 vCPUs, 2 free at most" })],
            [new PlannedMove("a", "h1:1", "h2:1", 0.3, 0.05, "h1 is 90% busy, h2 20%")], [], 4, FewestMoves: 1);
        var text = Print(status).Out;
        Assert.Contains("rebalancer: recommend, imbalance 0.350 (threshold 0.200, above), 0 of its moves in flight, 4 made; balance needs at least 1 move(s)", text);
        // A node that predates the bound (0) prints no claim about it.
        Assert.DoesNotContain("balance needs", Print(status with { FewestMoves = 0 }).Out);
        Assert.Contains("h1:1  [##################..]  90%  no", text);
        Assert.Contains("yes       big: needs 8 vCPUs, 2 free at most", text);
        Assert.Contains("plan (recommended, nothing moves in this mode):", text);
        Assert.Contains("a   h1:1 -> h2:1  0.300  0.050  h1 is 90% busy, h2 20%", text);
        Assert.Contains("in flight: none", text);
        var json = JsonDocument.Parse(Print(status, json: true).Out).RootElement;
        Assert.Equal("Recommend", json.GetProperty("mode").GetString());
    }

    [Fact]
    public void Prints_why_a_vm_moved_with_the_cause_its_figures_the_limits_and_the_outcome()
    {
        var cause = new MigrationCause(MigrationTrigger.Rebalance, "h1 above the mean by 0.35",
            new Dictionary<string, string> { ["load.h1"] = "0.90", ["load.h2"] = "0.20", ["gain"] = "0.30" });
        var events = new VmEventList("a",
        [
            new VmStarted("a", At, "started by an operator"),
            new VmMigrationStarted("a", At.AddMinutes(1), "rebalance", "m-1", "h1:1", "h2:1", cause,
                new MigrationLimits(300, 100L << 20, MigrationStrategy.Auto, 2)),
            new VmMigrated("a", At.AddMinutes(1).AddSeconds(3), "committed", "m-1", "h1:1", "h2:1", 4),
            new VmMigrationCompleted("a", At.AddMinutes(1).AddSeconds(4), "done", "m-1", 42, 4200, 900L << 20, 3, "precopy"),
        ]);
        var text = Print(events).Out;
        Assert.Contains("m-1: h1:1 -> h2:1, by rebalance", text);
        Assert.Contains("m-1: now on h2:1 (epoch 4)", text);
        Assert.Contains("migration m-1 at 2026-01-02 03:05:05Z: h1:1 -> h2:1", text);
        Assert.Contains("  trigger    rebalance", text);
        Assert.Contains("  why        h1 above the mean by 0.35", text);
        Assert.Contains("    load.h1  0.90", text);
        Assert.Contains("  limits     downtime 300 ms, bandwidth 100.0 MiB/s, Auto, 2 connections", text);
        Assert.Contains("  outcome    completed: downtime 42 ms, total 4.2 s, 3 rounds, 900.0 MiB sent (precopy)", text);
        var json = JsonDocument.Parse(Print(events, json: true).Out).RootElement;
        Assert.Equal(JsonValueKind.Null, json[0].GetProperty("migration").ValueKind);
        Assert.Equal("0.90", json[1].GetProperty("migration").GetProperty("inputs").GetProperty("load.h1").GetString());
    }

    [Fact]
    public void Says_a_cancelled_migration_left_the_vm_on_its_source()
    {
        var events = new VmEventList("a",
        [
            new VmMigrationStarted("a", At, "operator", "m-1", "h1:1", "h2:1", MigrationCause.ByOperator, MigrationLimits.Default),
            new VmMigrationFailed("a", At.AddSeconds(2), "cancelled by an operator", "m-1", "h2:1", true),
        ]);
        var text = Print(events).Out;
        Assert.Contains("m-1: cancelled, stays on its source", text);
        Assert.Matches(@"  outcome +cancelled: cancelled by an operator", text);
        Assert.Contains("bandwidth unlimited", text);
    }

    [Fact]
    public void Shows_a_vms_disks_in_the_table_and_in_json()
    {
        var spec = new Cluster.Contracts.Vms.VmSpec("a", "a", 1, 16 << 20, new Cluster.Contracts.Vms.BuiltInImage("counter"), [],
            new Dictionary<string, string>(), null, Cluster.Contracts.Vms.RestartPolicy.Never)
        {
            Disks =
            [
                new("/srv/a.qcow2", Cluster.Contracts.Vms.DiskImageFormat.Qcow2, true, Cluster.Contracts.Vms.DiskCache.None, "S1",
                    "5f0c7d9e-2b1a-4c3d-9e8f-0a1b2c3d4e5f"),
                new("/srv/b.img"),
            ],
        };
        var info = new VmInfo(spec, Cluster.Contracts.Vms.VmStatus.Running, 0, At, "started", "h1:1");

        var table = Print(info).Out;
        Assert.Matches(@"\ndisk0 +path=/srv/a.qcow2,format=qcow2,readonly,cache=none,serial=S1 \(identity 5f0c7d9e-2b1a-4c3d-9e8f-0a1b2c3d4e5f\)\n", table);
        Assert.Matches(@"\ndisk1 +path=/srv/b.img\n", table);

        var disks = JsonDocument.Parse(Print(info, json: true).Out).RootElement.GetProperty("disks");
        Assert.Equal(2, disks.GetArrayLength());
        Assert.Equal(("/srv/a.qcow2", "qcow2", true, "none", "S1"), (disks[0].GetProperty("path").GetString(), disks[0].GetProperty("format").GetString(),
            disks[0].GetProperty("readOnly").GetBoolean(), disks[0].GetProperty("cache").GetString(), disks[0].GetProperty("serial").GetString()));
        Assert.Equal("auto", disks[1].GetProperty("format").GetString());
    }
}
