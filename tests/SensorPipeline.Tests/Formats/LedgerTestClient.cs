using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Formats;

/// <summary>HTTP and SQL helpers of the payload-ledger tests (keys required, as in production).</summary>
internal static class LedgerTestClient
{
    public static async Task<(int Status, JsonElement Body)> SendAsync(PipelineApp app, HttpMethod method, string path, string? body, string? key)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        using var response = await app.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    public static Task<(int Status, JsonElement Body)> PostAsync(PipelineApp app, string path, string body, string? key) =>
        SendAsync(app, HttpMethod.Post, path, body, key);

    public static Task<(int Status, JsonElement Body)> GetAsync(PipelineApp app, string path, string? key) =>
        SendAsync(app, HttpMethod.Get, path, null, key);

    /// <summary>The rows of a query, each column as text (null as null).</summary>
    public static async Task<List<string?[]>> RowsAsync(PipelineApp app, string sql)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string?[]>();
        while (await reader.ReadAsync())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Readings whose payload row is missing: must always be none.</summary>
    public static Task<long> OrphansAsync(PipelineApp app) =>
        app.ScalarAsync("select count(*) from raw_data r where r.payload_id is null or not exists (select 1 from payload p where p.id = r.payload_id)");
}
