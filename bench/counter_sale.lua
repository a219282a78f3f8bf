-- wrk script: each request is one counter sale of one unit, paid in cash, at the store
-- STORE_ID by its clerk (TOKEN), of a variant of VARIANTS_FILE (round robin), with a fresh
-- idempotency key: a till at the counter of a relief supermarket.
local variants = {}
local counter = 0
local store, token = "", ""

function init(args)
  for line in io.lines(os.getenv("VARIANTS_FILE")) do
    if line ~= "" then variants[#variants + 1] = line end
  end
  store, token = os.getenv("STORE_ID"), os.getenv("TOKEN")
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local query = 'mutation($input: CounterSaleInput!) { recordCounterSale(input: $input) { sale { id } userErrors { code } } }'

function request()
  counter = counter + 1
  local variant = variants[(counter % #variants) + 1]
  local key = string.format("till-%d-%d-%d", os.time(), math.random(1, 1000000000), counter)
  local body = '{"query":"' .. query .. '","variables":{"input":{"storeId":"' .. store .. '","lines":[{"variantId":"' ..
    variant .. '","quantity":1}],"paymentMethod":"CASH","idempotencyKey":"' .. key .. '"}}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"userErrors":%[%]') then
    io.stderr:write(body .. "\n")
  end
end
