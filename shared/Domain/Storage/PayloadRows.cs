using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// The <c>payload</c> insert's columns as array parameters, written once for both writers: the
/// readings' statement (accepted payloads, <see cref="RawReadingStore"/>) and the error ledger
/// (refused ones, <see cref="PayloadLedgerStore"/>).
/// </summary>
internal static class PayloadRows
{
    /// <summary>The payload columns every writer fills, in <see cref="Select"/>'s order.</summary>
    public const string Columns = "id, received_at, door, device_id, source, format, decoder_version, size_bytes, sha256, content, reading_count";

    /// <summary><c>select … from unnest(…)</c> of the payload columns, its parameters numbered from <paramref name="first"/>.</summary>
    public static string Select(int first) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
            select * from unnest(${first}::uuid[], ${first + 1}::timestamptz[], ${first + 2}::text[], ${first + 3}::text[], ${first + 4}::text[], ${first + 5}::text[],
                                 ${first + 6}::int[], ${first + 7}::int[], ${first + 8}::text[], ${first + 9}::bytea[], ${first + 10}::int[])
            """);

    public static void Add(NpgsqlParameterCollection parameters, IReadOnlyCollection<PayloadInfo> payloads)
    {
        Add(parameters, payloads.Select(p => p.Id).ToArray(), NpgsqlDbType.Uuid);
        Add(parameters, payloads.Select(p => p.ReceivedAt.UtcDateTime).ToArray(), NpgsqlDbType.TimestampTz);
        Add(parameters, payloads.Select(p => p.Door).ToArray(), NpgsqlDbType.Text);
        Add(parameters, payloads.Select(p => p.DeviceId).ToArray(), NpgsqlDbType.Text);
        Add(parameters, payloads.Select(p => p.Source).ToArray(), NpgsqlDbType.Text);
        Add(parameters, payloads.Select(p => (string?)p.Format).ToArray(), NpgsqlDbType.Text);
        Add(parameters, payloads.Select(p => (int?)p.DecoderVersion).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, payloads.Select(p => p.SizeBytes).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, payloads.Select(p => (string?)p.Sha256).ToArray(), NpgsqlDbType.Text);
        Add(parameters, payloads.Select(p => p.Content).ToArray(), NpgsqlDbType.Bytea);
        Add(parameters, payloads.Select(p => p.ReadingCount).ToArray(), NpgsqlDbType.Integer);
    }

    public static void Add(NpgsqlParameterCollection parameters, IReadOnlyCollection<IngestRefusal> refusals)
    {
        Add(parameters, refusals.Select(r => r.PayloadId).ToArray(), NpgsqlDbType.Uuid);
        Add(parameters, refusals.Select(r => r.ReceivedAt.UtcDateTime).ToArray(), NpgsqlDbType.TimestampTz);
        Add(parameters, refusals.Select(r => r.Door).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.DeviceId).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Source).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Format).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.DecoderVersion).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, refusals.Select(r => r.SizeBytes).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, refusals.Select(r => r.Sha256).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Content).ToArray(), NpgsqlDbType.Bytea);
        Add(parameters, refusals.Select(_ => 0).ToArray(), NpgsqlDbType.Integer);
    }

    public static void Add(NpgsqlParameterCollection parameters, object value, NpgsqlDbType type) =>
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type });
}
