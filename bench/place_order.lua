-- wrk script: each request places a one-unit order for a buyer (tokens from TOKENS_FILE,
-- round robin) with a fresh idempotency key, for the variant ids in VARIANTS_FILE (one is
-- the hot variant; many spread the load), through the promo code REFERRAL_CODE when set (a
-- live session's code buys from its quota), paid by PAYMENT_METHOD (BANK_TRANSFER unless set).
local tokens, variants = {}, {}
local referral = ""
local method = "BANK_TRANSFER"
local counter = 0

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

function init(args)
  tokens = lines(os.getenv("TOKENS_FILE"))
  variants = lines(os.getenv("VARIANTS_FILE"))
  method = os.getenv("PAYMENT_METHOD") or method
  local code = os.getenv("REFERRAL_CODE")
  if code and code ~= "" then referral = ',"referralCode":"' .. code .. '"' end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local query = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }'

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local variant = variants[math.random(#variants)]
  local key = string.format("bench-%d-%d-%d", os.time(), math.random(1, 1000000000), counter)
  local body = '{"query":"' .. query .. '","variables":{"input":{"lines":[{"variantId":"' .. variant ..
    '","quantity":1}],"shippingAddress":{"name":"李华","phone":"13800138000","province":"湖南省","city":"株洲市",' ..
    '"district":"渌口区","line1":"朱亭镇 8 号"},"idempotencyKey":"' .. key .. '","paymentMethod":"' .. method .. '"' .. referral .. '}}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
