using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Contracts.Json;

/// <summary>
/// The field-less contracts (a private constructor and a static <c>Instance</c>), which JSON cannot construct: they are
/// <c>{}</c> on the wire and read back as their instance. Listed here because finding them by reflection is not
/// trim-safe; <c>ContractJsonTests</c> finds them in the contract assembly and fails for one missing here.
/// </summary>
internal static class ContractSingletons
{
    private static readonly Dictionary<Type, object> All = new object[]
    {
        ListTokens.Instance, ListVms.Instance, ListHosts.Instance, ListLocalVms.Instance, ListMigrations.Instance,
        ListNetworks.Instance, GetRebalanceStatus.Instance,
    }.ToDictionary(o => o.GetType());

    /// <summary>The singletons' types.</summary>
    public static IEnumerable<Type> Types => All.Keys;

    /// <summary>The instance of a singleton contract type, or null.</summary>
    public static object? Of(Type type) => All.GetValueOrDefault(type);
}
