using Cluster.Node.Hosting;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Tests.Hosting;

public class NodeOptionsTests
{
    [Fact]
    public void Parses_every_option()
    {
        var options = NodeOptions.Parse(["--config", "x.conf", "--port", "0", "--data", "/tmp/d", "--backend", "emulated"], out var error);
        Assert.Null(error);
        Assert.Equal(new NodeOptions("x.conf", 0, "/tmp/d", BackendKind.Emulated), options);
    }

    [Fact]
    public void The_ca_and_certificate_reach_the_options_and_seeds_are_tls_addresses()
    {
        var options = NodeOptions.Parse(["--ca", "/tmp/ca", "--cert", "/tmp/n1.crt", "--seed", "127.0.0.1:1"], out var error);
        Assert.Null(error);
        Assert.Equal(("/tmp/ca", "/tmp/n1.crt"), (options!.CaDirectory, options.CertificateFile));
        Assert.Equal(["akka.ssl.tcp://hypervisor@127.0.0.1:1"], ClusterComposition.Overrides(options.Cluster!).GetStringList("akka.cluster.seed-nodes"));
    }

    [Fact]
    public void Defaults_to_port_4053_and_the_emulated_backend() =>
        Assert.Equal(new NodeOptions(null, 4053, "data", BackendKind.Emulated), NodeOptions.Parse([], out _));

    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--backend", "xen")]
    [InlineData("--bogus", "1")]
    public void Refuses_bad_arguments(string name, string value)
    {
        Assert.Null(NodeOptions.Parse([name, value], out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void The_rebalance_mode_reaches_the_cluster_options_and_the_hocon()
    {
        var options = NodeOptions.Parse(["--seed", "127.0.0.1:1", "--rebalance", "recommend"], out var error);
        Assert.Null(error);
        Assert.Equal("recommend", options!.Cluster!.Rebalance);
        Assert.Equal("recommend", ClusterComposition.Overrides(options.Cluster).GetString("cluster-hypervisor.rebalancer.mode"));
    }

    [Fact]
    public void Refuses_an_unknown_rebalance_mode_naming_the_modes()
    {
        Assert.Null(NodeOptions.Parse(["--seed", "127.0.0.1:1", "--rebalance", "sometimes"], out var error));
        Assert.Contains("off, recommend or automatic", error);
    }

    [Fact]
    public void The_https_certificate_options_go_together_with_http()
    {
        var options = NodeOptions.Parse(["--http", "127.0.0.1:8443", "--http-cert", "c.pem", "--http-key", "k.pem"], out var error);
        Assert.Null(error);
        Assert.Equal(("c.pem", "k.pem"), options!.HttpCertificate);
        Assert.Null(NodeOptions.Parse(["--http", "127.0.0.1:8443", "--http-cert", "c.pem"], out error));
        Assert.Contains("go together", error);
        Assert.Null(NodeOptions.Parse(["--http-cert", "c.pem", "--http-key", "k.pem"], out error));
    }
}
