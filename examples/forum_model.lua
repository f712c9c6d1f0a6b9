-- examples/forum_model.lua: the forum post's experiment, faithfully.
--
--   ember examples/forum_model.lua [epochs [training images]]
--
-- A learner trained this Keras model on Fashion-MNIST (10 classes) with 30
-- sigmoid output units and asked why it still classifies well. Side by
-- side, the Keras lines and their ember translation:
--
--   (x_train, y_train), (x_test, y_test) =      local train, test = data.load("fashion-mnist")
--       fashion_mnist.load_data()
--   x_train / 255.0                             (ember scales while batching)
--   Sequential([Flatten(),                      nn.sequential { nn.flatten(),
--     Dense(512, activation=relu),                nn.dense(512, "relu"),
--     Dense(1024, activation=relu),               nn.dense(1024, "relu"),
--     Dense(30, activation=sigmoid)])             nn.dense(30, "sigmoid") }
--   model.compile(optimizer="adam",             m:compile { optimizer = "adam",
--     loss="sparse_categorical_crossentropy")     loss = "sparse_categorical_crossentropy", ... }
--   model.fit(x_train, y_train, epochs=5)       m:fit(train, { epochs = 5 })
--   model.evaluate(x_test, y_test)              m:evaluate(test)
--   model.predict(x_test)[60]                   m:predict(test[61])   -- Lua counts from 1

local epochs = tonumber(arg[1]) or 5
local limit = tonumber(arg[2])

local train, test = data.load("fashion-mnist")
if limit then train = train:subset(1, limit) end

seed(42)   -- the same seed gives the same numbers, run after run
local m = nn.sequential {
  nn.flatten(),
  nn.dense(512, "relu"),
  nn.dense(1024, "relu"),
  nn.dense(30, "sigmoid"),   -- more units than the 10 classes
}
m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
m:summary()

m:fit(train, { epochs = epochs })

local loss, accuracy = m:evaluate(test)
print(string.format("trained model loss on the test data: %.2f, accuracy: %.4f", loss, accuracy))

-- Keras's x_test[60] is ember's test[61]: the same image.
local x, label = test:sample(61)
local p = m:predict(x)
print("predicted probability distribution of test[61] (unit: output):")
for unit = 0, m.units - 1 do
  local name = test:class_name(unit) or "no such class"
  print(string.format("  %2d %-12s %.6f", unit, name, p[unit + 1]))   -- unit j is at position j + 1
end
local predicted = m:classify(x)
print(string.format("predicted_class: %d %s, actual class: %d %s", predicted,
                    test:class_name(predicted) or "(no such class)", label, test:class_name(label)))
