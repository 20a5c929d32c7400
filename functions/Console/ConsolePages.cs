using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// The dashboard's pages and scripts: <c>GET /api/dashboard/</c> (index.html) and
/// <c>GET /api/dashboard/{file}</c>, from the assembly, with ETag and <c>Cache-Control: no-cache</c>
/// (revalidated each load, a 304 when unchanged). Anonymous: the files hold no data; every API call
/// the page makes carries the key the user gives it. Our host also answers <c>/</c> with a redirect here.
/// </summary>
public sealed class ConsolePages(ConsoleAssets assets)
{
    [Function("ConsolePages")]
    public IResult Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/{*file}")] HttpRequest request,
        string? file = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(file) && !request.Path.Value!.EndsWith('/'))
        {
            // Relative asset URLs resolve against the folder: /api/dashboard → /api/dashboard/.
            return Results.Redirect(request.PathBase + request.Path + "/" + request.QueryString);
        }

        if (assets.Find(file) is not { } asset)
        {
            return Results.NotFound();
        }

        var headers = request.HttpContext.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        // Only the app's own files and API: no inline script, nothing from elsewhere, no framing.
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        if (request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == asset.ETag || t.Trim() == "*")))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    /// <summary>
    /// What the pages may load: scripts, styles, images and API calls from the app only; inline
    /// style attributes (the chart library and the lag bars set sizes that way); no framing.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>The dashboard's path under the configured route prefix (<c>/api/dashboard/</c> by default).</summary>
    public static string PathUnder(IOptions<FunctionsHostOptions> host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var prefix = host.Value.Http.RoutePrefix.Trim('/');
        return (prefix.Length > 0 ? "/" + prefix : "") + "/dashboard/";
    }
}
