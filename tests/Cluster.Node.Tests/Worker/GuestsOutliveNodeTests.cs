using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Tests.Isolation;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// One VMM worker process per VM, through the real `cluster-node run` and `vmctl`: guests outlive a killed or restarted
/// node (re-attached, consoles without a gap, no cold boot), a killed worker takes down only its own VM, and a guest that
/// makes its VMM allocate without bound is stopped by its own cgroup.
/// </summary>
public sealed partial class GuestsOutliveNodeTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-node-workers", Guid.NewGuid().ToString("N"));
    private readonly int _port;
    private readonly SingleNodeVmctl _vmctl;

    public GuestsOutliveNodeTests()
    {
        _port = ProcessRunner.FreePort();
        _vmctl = new SingleNodeVmctl(_port, timeoutSeconds: 15);
    }

    private Task<ProcessResult> Ok(params string[] args) => _vmctl.Ok(args);

    private Task<Dictionary<string, JsonElement>> ListAsync() => _vmctl.ListAsync();

    private static Task Eventually(Func<Task<bool>> condition, string what, int seconds = 45) => SingleNodeVmctl.Eventually(condition, what, seconds);

    [GeneratedRegex(@"dirtier pass (\d+)\n")]
    private static partial Regex PassLine();

    /// <summary>The pass numbers a dirtier guest printed, in the order its console holds them.</summary>
    private async Task<List<long>> Passes(string vm) =>
        [.. PassLine().Matches((await Ok("console", vm, "--bytes", "60000")).Stdout).Select(m => long.Parse(m.Groups[1].Value))];

    private Task<NodeProcess> StartNode() => NodeProcess.StartAsync(_port, _data);

    [Fact]
    public async Task Three_guests_run_on_through_a_node_killed_and_a_node_restarted_for_an_upgrade_with_their_consoles_whole()
    {
        string[] vms = ["a", "b", "c"];
        var node = await StartNode();
        try
        {
            foreach (var vm in vms)
                await Ok("create", vm, "--image", "dirtier", "--memory", "8M", "--arg", "1", "--arg", "5", "--start");
            foreach (var vm in vms)
                await Eventually(async () => (await Passes(vm)).Count >= 3, $"{vm} to print passes");
            var workers = WorkerRecords.Of(_data);
            Assert.Equal(vms, workers.Keys.Order());
            Assert.DoesNotContain(node.Pid, workers.Values);

            // 1. The node crashes (SIGKILL of the node alone): the workers run on; the next incarnation re-attaches.
            node.KillAlone();
            Assert.All(workers.Values, pid => Assert.True(WorkerRecords.Alive(pid), $"worker {pid} died with its node"));
            node = await StartNode();
            await CheckReattached(vms, workers);

            // 2. An upgrade-style restart: the node is asked to stop (SIGTERM) and started again; the guests stay.
            node.Terminate(TimeSpan.FromSeconds(30));
            Assert.All(workers.Values, pid => Assert.True(WorkerRecords.Alive(pid), $"worker {pid} stopped with its node's shutdown"));
            node = await StartNode();
            await CheckReattached(vms, workers);
        }
        finally
        {
            node.Dispose();
        }
    }

    /// <summary>Every VM runs in the worker it ran in before, was never booted again, and its console holds each pass once, in order, and goes on.</summary>
    private async Task CheckReattached(string[] vms, Dictionary<string, int> workers)
    {
        await Eventually(async () => (await ListAsync()).Values.All(v => v.GetProperty("status").GetString() == "Running"), "the VMs to run");
        Assert.Equal(workers, WorkerRecords.Of(_data));
        foreach (var vm in vms)
        {
            var events = (await Ok("events", vm)).Stdout;
            Assert.Single(Regex.Matches(events, "VmStarted"));
            Assert.DoesNotContain("cold boot", events);
            var before = (await Passes(vm)).Last();
            await Eventually(async () => (await Passes(vm)).Last() >= before + 3, $"{vm} to go on after the restart");
            var passes = await Passes(vm);
            Assert.True(passes.Zip(passes.Skip(1)).All(p => p.Item2 == p.Item1 + 1),
                $"{vm}'s console has a gap or a repeat: {string.Join(' ', passes)}");
        }
    }

    [Fact]
    public async Task A_killed_worker_takes_down_only_its_own_vm_which_its_restart_policy_boots_again_in_a_new_worker()
    {
        using var node = await StartNode();
        await Ok("create", "victim", "--image", "counter", "--memory", "4M", "--restart", "on-failure", "--start");
        await Ok("create", "bystander", "--image", "dirtier", "--memory", "8M", "--arg", "1", "--arg", "5", "--start");
        await Eventually(async () => WorkerRecords.Of(_data).Count == 2, "two workers");
        await Eventually(async () => (await Passes("bystander")).Count >= 2, "the bystander to print");
        var workers = WorkerRecords.Of(_data);

        WorkerRecords.Kill(workers["victim"]);

        await Eventually(async () => WorkerRecords.Of(_data).TryGetValue("victim", out var pid) && pid != workers["victim"], "the victim in a new worker");
        await Eventually(async () => (await ListAsync())["victim"].GetProperty("status").GetString() == "Running", "the victim to run again");
        var victim = (await ListAsync())["victim"];
        Assert.Equal(1, victim.GetProperty("restarts").GetInt32());
        Assert.Contains("VMM worker", (await Ok("events", "victim")).Stdout);
        Assert.Equal(workers["bystander"], WorkerRecords.Of(_data)["bystander"]);
        var bystander = (await ListAsync())["bystander"];
        Assert.Equal("Running", bystander.GetProperty("status").GetString());
        Assert.Equal(0, bystander.GetProperty("restarts").GetInt32());
        Assert.Single(Regex.Matches((await Ok("events", "bystander")).Stdout, "VmStarted"));
    }

    [CgroupFact]
    public async Task A_guest_that_makes_its_vmm_allocate_without_bound_is_stopped_by_its_own_cgroup_and_nothing_else_is_touched()
    {
        // The emulator bounds its decoded code (4096 pages per vCPU by default, well inside the overhead budget): lifted
        // here, so that a VMM that does allocate without bound is what the cgroup has to stop.
        Directory.CreateDirectory(_data);
        var config = Path.Combine(_data, "unbounded-code.conf");
        File.WriteAllText(config, "cluster-hypervisor.emulator.max-code-pages = 10000000\n");
        using var node = await NodeProcess.StartAsync(_port, _data, "--config", config);
        await Ok("create", "bystander", "--image", "dirtier", "--memory", "8M", "--arg", "1", "--arg", "5", "--start");
        // 200 MiB of code pages: the emulator's decoded code for them is several times that, past the worker's limit
        // (guest memory + the stated overhead budget).
        await Ok("create", "runaway", "--image", "codewalk", "--memory", "256M", "--arg", "200", "--arg", "0", "--start");
        await Eventually(async () => (await ListAsync())["runaway"].GetProperty("status").GetString() != "Running", "the runaway to be stopped", 90);
        var events = (await Ok("events", "runaway")).Stdout;
        Assert.Contains("memory limit", events);
        var bystander = (await ListAsync())["bystander"];
        Assert.Equal("Running", bystander.GetProperty("status").GetString());
        var before = (await Passes("bystander")).Last();
        await Eventually(async () => (await Passes("bystander")).Last() > before, "the bystander to go on");
        Assert.True(node.Output.Length > 0 && !node.HasExited, "the node went down with the runaway guest");
    }

    public void Dispose()
    {
        WorkerRecords.KillAll(_data);
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
