using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace SensorPipeline.Runtime.Http;

/// <summary>Checks a request's key in constant time; says nothing about which keys exist.</summary>
public sealed class FunctionKeyValidator
{
    private readonly byte[]? _master;
    private readonly List<byte[]> _function;
    private readonly bool _allowAnonymous;

    public FunctionKeyValidator(FunctionKeysOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _master = string.IsNullOrEmpty(options.Master) ? null : Hash(options.Master);
        _function = options.Function.Values.Where(v => !string.IsNullOrEmpty(v)).Select(Hash).ToList();
        _allowAnonymous = options.AllowAnonymous;
    }

    /// <summary>
    /// Anonymous: anyone. Function (and User, which the portable host treats alike): a function
    /// key or the master key. System and Admin: the master key only.
    /// </summary>
    public bool IsAuthorized(HttpRequest request, AuthorizationLevel level)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (level == AuthorizationLevel.Anonymous || _allowAnonymous)
        {
            return true;
        }

        string? presented = request.Headers["x-functions-key"];
        if (string.IsNullOrEmpty(presented))
        {
            presented = request.Query["code"];
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var hash = Hash(presented);
        var ok = _master is not null && CryptographicOperations.FixedTimeEquals(hash, _master);
        if (level is AuthorizationLevel.Function or AuthorizationLevel.User)
        {
            foreach (var key in _function)
            {
                // No early exit: the time taken does not depend on which key matched.
                ok |= CryptographicOperations.FixedTimeEquals(hash, key);
            }
        }

        return ok;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
