using System.Text;
using System.Text.Json;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Json;
using Cluster.Contracts.Replies;
using MessagePack;

namespace Cluster.Contracts.Tests.Json;

/// <summary>
/// The JSON form of the contracts (<see cref="ContractJson"/>, the NativeAOT vmctl's wire) against their MessagePack
/// form: every contract type of the assembly, found by reflection, has a JSON form that carries what MessagePack carries.
/// </summary>
public sealed class ContractJsonTests
{
    private static readonly MessagePackSerializerOptions Pack = MessagePackSerializerOptions.Standard;

    public static TheoryData<string> Contracts() => [.. ContractSamples.ContractTypes.Select(t => t.FullName!)];

    public static TheoryData<string, string> Unions()
    {
        var data = new TheoryData<string, string>();
        foreach (var (b, m) in ContractSamples.UnionMembers)
            data.Add(b.FullName!, m.FullName!);
        return data;
    }

    private static Type TypeOf(string name) => typeof(IClusterMessage).Assembly.GetType(name, throwOnError: true)!;

    [Fact]
    public void The_json_table_holds_exactly_the_contracts_of_the_assembly()
    {
        var missing = ContractSamples.ContractTypes.Select(t => t.FullName!).Except(ContractJson.ByManifest.Keys).ToList();
        var extra = ContractJson.ByManifest.Keys.Except(ContractSamples.ContractTypes.Select(t => t.FullName!)).ToList();
        Assert.True(missing.Count == 0, "add [JsonSerializable(typeof(...))] to ContractJsonContext for: " + string.Join(", ", missing));
        Assert.True(extra.Count == 0, "not contracts: " + string.Join(", ", extra));
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void A_contract_round_trips_through_json_to_what_its_messagepack_round_trip_gives(string name)
    {
        var type = TypeOf(name);
        if (ContractSamples.SingletonOf(type) is not null)
            return; // no fields: MessagePack writes them as an empty array itself; see Singletons_are_...
        var original = ContractSamples.Of(type);
        var viaPack = MessagePackSerializer.Deserialize(type, MessagePackSerializer.Serialize(type, original, Pack), Pack)!;

        var (manifest, json) = ContractJson.Encode(original);
        Assert.Equal(name, manifest);
        var viaJson = ContractJson.Decode(manifest, json, out var error);
        Assert.True(viaJson is not null, error);
        Assert.IsType(type, viaJson);

        // Equal as MessagePack sees them: the same bytes (records with lists compare lists by reference).
        Assert.Equal(Convert.ToHexString(MessagePackSerializer.Serialize(type, viaPack, Pack)),
            Convert.ToHexString(MessagePackSerializer.Serialize(type, viaJson, Pack)));
        // and JSON is a fixed point: writing what was read gives the same text.
        Assert.Equal(Encoding.UTF8.GetString(json), Encoding.UTF8.GetString(ContractJson.Encode(viaJson).Payload));
    }

    [Theory]
    [MemberData(nameof(Unions))]
    public void A_union_member_round_trips_as_its_base_type(string baseName, string memberName)
    {
        var (baseType, member) = (TypeOf(baseName), TypeOf(memberName));
        var original = ContractSamples.Of(member);
        var info = ContractJson.Options.GetTypeInfo(baseType);
        var json = JsonSerializer.SerializeToUtf8Bytes(original, info);
        Assert.Contains($"\"$type\":\"{member.Name}\"", Encoding.UTF8.GetString(json));
        var back = JsonSerializer.Deserialize(json, info);
        Assert.IsType(member, back);
        Assert.Equal(Convert.ToHexString(MessagePackSerializer.Serialize(baseType, original, Pack)),
            Convert.ToHexString(MessagePackSerializer.Serialize(baseType, back, Pack)));
    }

    [Fact]
    public void Singletons_are_an_empty_object_and_read_back_as_their_instance()
    {
        var singletons = ContractSamples.ContractTypes.Where(t => ContractSamples.SingletonOf(t) is not null).ToList();
        Assert.NotEmpty(singletons);
        foreach (var type in singletons)
        {
            var (manifest, json) = ContractJson.Encode(ContractSamples.SingletonOf(type)!);
            Assert.Equal("{}", Encoding.UTF8.GetString(json));
            Assert.Same(ContractSamples.SingletonOf(type), ContractJson.Decode(manifest, json, out _));
        }
        Assert.Null(ContractJson.Decode(typeof(ListVms).FullName, "[]"u8, out var error));
        Assert.Contains("not a JSON object", error);
    }

    [Fact]
    public void Unknown_manifests_and_malformed_bodies_are_refused_with_a_reason()
    {
        Assert.Null(ContractJson.Decode("System.IO.File", "{}"u8, out var error));
        Assert.Contains("unknown command type", error);
        Assert.Null(ContractJson.Decode(typeof(VmNotFound).FullName, "{\"vmId\":"u8, out error));
        Assert.Contains("VmNotFound is malformed", error);
        Assert.Throws<ArgumentException>(() => ContractJson.Encode("not a contract"));
    }

    [Fact]
    public void Fields_are_camel_case_and_enums_their_names()
    {
        var json = Encoding.UTF8.GetString(ContractJson.Encode(new VmCommandAccepted("web-1", Cluster.Contracts.Vms.VmStatus.Running)).Payload);
        Assert.Equal("{\"vmId\":\"web-1\",\"status\":\"Running\"}", json);
    }
}
