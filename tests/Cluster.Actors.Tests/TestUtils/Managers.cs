using Akka.Actor;
using Cluster.Actors.Hosting;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>Starts a node's VM manager in a test ActorSystem.</summary>
public static class Managers
{
    public static IActorRef Start(ActorSystem system, IGuestRuntimeFactory guests) =>
        system.ActorOf(VmManager.Props(guests, new VmSpecValidator(Specs.Limits(guests.BuiltInImages)),
            VmActorSettings.From(system.Settings.Config, "test-node")), VmManager.Name);
}
